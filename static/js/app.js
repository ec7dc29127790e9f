// The little JavaScript the dashboard has. No inline scripts (CSP); behaviour hangs on data-*.
"use strict";

// <button data-copy="#id"> copies the value (or text) of the element it names.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  try {
    await navigator.clipboard.writeText(text);
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    if ("select" in source) source.select();
  }
});

// <button data-reveal="#id"> toggles a password field between masked and shown.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-reveal]");
  if (!button) return;
  const field = document.querySelector(button.dataset.reveal);
  if (!field) return;
  const show = field.type === "password";
  field.type = show ? "text" : "password";
  button.textContent = show ? "Hide" : "Reveal";
  button.setAttribute("aria-pressed", String(show));
});

// <input data-confirm-name="exact name" data-confirm-button="#id">: the button stays disabled
// until the typed text matches exactly. The server checks again.
function syncConfirm(input) {
  const button = document.querySelector(input.dataset.confirmButton);
  if (button) button.disabled = input.value !== input.dataset.confirmName;
}
document.addEventListener("input", (event) => {
  if (event.target.matches("[data-confirm-name]")) syncConfirm(event.target);
});
function initConfirm(root) {
  root.querySelectorAll("[data-confirm-name]").forEach(syncConfirm);
}
document.addEventListener("DOMContentLoaded", () => initConfirm(document));
document.addEventListener("htmx:load", (event) => initConfirm(event.target));

// <input type="radio" data-shows="#id" data-shows-when="value">: the field holding #id shows
// only while the checked radio of that group has that value. Without JS it always shows.
function syncShows(root) {
  root.querySelectorAll("[data-shows]:checked").forEach((radio) => {
    const target = document.querySelector(radio.dataset.shows);
    const field = target && (target.closest(".field") || target);
    if (field) field.hidden = radio.value !== radio.dataset.showsWhen;
  });
}
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-shows]")) syncShows(event.target.form || document);
});
document.addEventListener("DOMContentLoaded", () => syncShows(document));
document.addEventListener("htmx:load", (event) => syncShows(event.target));
