// The little JavaScript the dashboard has. No inline scripts (CSP); behaviour hangs on data-*.
"use strict";

// <button data-copy-target="#id" hidden> copies what the element it names shows (its value, or
// its text), so a masked password is copied masked. The button ships hidden: without JavaScript
// it would do nothing. `data-copy` is the older spelling of the same thing.
const COPY_BUTTONS = "[data-copy-target], [data-copy]";
const COPY_RESET_MS = 2000;
const copyTimers = new WeakMap();
let copyAnnouncer = null;

// One polite live region, in the page before anything is copied: a region created at the moment
// it is filled is often not read out.
function ensureCopyAnnouncer() {
  if (copyAnnouncer?.isConnected || !document.querySelector(COPY_BUTTONS)) return;
  copyAnnouncer = document.createElement("div");
  copyAnnouncer.id = "copy-status";
  copyAnnouncer.className = "visually-hidden";
  copyAnnouncer.setAttribute("role", "status");
  copyAnnouncer.setAttribute("aria-live", "polite");
  document.body.append(copyAnnouncer);
}

function initCopy(root) {
  root.querySelectorAll(COPY_BUTTONS).forEach((button) => { button.hidden = false; });
  ensureCopyAnnouncer();
}
document.addEventListener("DOMContentLoaded", () => initCopy(document));
document.addEventListener("htmx:load", (event) => initCopy(event.target));

// Where the asynchronous clipboard is missing (plain http) or refused, select the text and try
// the old copy command; if that fails too, the selection is there for Ctrl+C.
function copyBySelecting(source) {
  if ("select" in source) {
    source.focus();
    source.select();
  } else {
    window.getSelection().selectAllChildren(source);
  }
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

function showCopyState(button, visible, spoken) {
  button.dataset.copyLabel ??= button.textContent;
  clearTimeout(copyTimers.get(button));
  button.textContent = visible;
  button.classList.add("is-copied");
  ensureCopyAnnouncer();
  if (copyAnnouncer) {
    // Emptied first, so copying twice in a row is announced twice.
    copyAnnouncer.textContent = "";
    setTimeout(() => { copyAnnouncer.textContent = spoken; }, 50);
  }
  copyTimers.set(button, setTimeout(() => {
    button.textContent = button.dataset.copyLabel;
    button.classList.remove("is-copied");
  }, COPY_RESET_MS));
}

// <button data-copy-secret="uri" data-copy-form="#reveal-form">: the text shown is masked, so
// Copy posts the reveal form with copy=<format> (the server checks the role and records it in
// the audit log, as Reveal does) and copies the string it answers with. The page stays masked.
async function secretText(button) {
  const form = document.querySelector(button.dataset.copyForm);
  const body = new FormData(form);
  body.set("copy", button.dataset.copySecret);
  const response = await fetch(form.action, {
    method: "POST", body, credentials: "same-origin", headers: {"Accept": "application/json"},
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || typeof answer.text !== "string") {
    throw new Error(answer.error || `The server answered ${response.status}.`);
  }
  return answer.text;
}

async function copySecret(button) {
  if (!navigator.clipboard) {
    // Selecting text to copy would take the masked string, which cannot connect.
    showCopyState(
      button, "Reveal to copy",
      "This page has no clipboard access: reveal the password, then copy the string.",
    );
    return;
  }
  const fetched = secretText(button);
  try {
    if (window.ClipboardItem && navigator.clipboard?.write) {
      // Handing the clipboard a promise keeps the click's permission while the server answers.
      const blob = fetched.then((text) => new Blob([text], {type: "text/plain"}));
      await navigator.clipboard.write([new ClipboardItem({"text/plain": blob})]);
    } else {
      await navigator.clipboard.writeText(await fetched);
    }
    showCopyState(button, "Copied", "Copied, password included.");
  } catch (error) {
    const why = await fetched.then(() => "", (failure) => ` ${failure.message}`);
    showCopyState(button, "Not copied", `Could not copy the string with its password.${why}`);
  }
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest(COPY_BUTTONS);
  if (!button) return;
  if (button.dataset.copySecret && document.querySelector(button.dataset.copyForm)) {
    await copySecret(button);
    return;
  }
  const source = document.querySelector(button.dataset.copyTarget || button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = copyBySelecting(source);
    if (copied) button.focus();  // the selecting moved focus; a keyboard user stays put
  }
  if (copied) {
    showCopyState(button, "Copied", "Copied to the clipboard.");
  } else {
    showCopyState(
      button,
      "Press Ctrl+C",
      "Could not copy. The text is selected: press Control+C, or Command+C on a Mac.",
    );
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

// <input data-placeholder-from="#id" data-placeholder-suffix="_owner">: its placeholder follows
// the other field, as Neon names the default role after the database ("orders" → "orders_owner").
// An empty source lends its own placeholder, so the hint always shows what Neon would pick.
function syncPlaceholder(input) {
  const source = document.querySelector(input.dataset.placeholderFrom);
  if (!source) return;
  input.dataset.placeholderDefault ??= input.placeholder;
  const base = source.value.trim() || source.placeholder;
  input.placeholder = base
    ? base + (input.dataset.placeholderSuffix || "")
    : input.dataset.placeholderDefault;
}
document.addEventListener("input", (event) => {
  document.querySelectorAll("[data-placeholder-from]").forEach((input) => {
    if (event.target.matches(input.dataset.placeholderFrom)) syncPlaceholder(input);
  });
});
function initPlaceholders(root) {
  root.querySelectorAll("[data-placeholder-from]").forEach(syncPlaceholder);
}
document.addEventListener("DOMContentLoaded", () => initPlaceholders(document));
document.addEventListener("htmx:load", (event) => initPlaceholders(event.target));

// A link to a settings section (the fleet's "Fix" links: #section-network) opens it.
function openLinkedSection() {
  const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target && target.tagName === "DETAILS") {
    target.open = true;
    target.scrollIntoView();
  }
}
document.addEventListener("DOMContentLoaded", openLinkedSection);
window.addEventListener("hashchange", openLinkedSection);

// <select data-switches="[data-kind]">: of the elements matching the selector, only the one
// whose data-kind is the chosen value shows (the bulk change form's fieldsets). Without JS
// they all show; the server reads only the chosen one's fields.
function syncSwitches(root) {
  root.querySelectorAll("select[data-switches]").forEach((select) => {
    document.querySelectorAll(select.dataset.switches).forEach((part) => {
      part.hidden = part.dataset.kind !== select.value;
    });
  });
}
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-switches]")) syncSwitches(document);
});
document.addEventListener("DOMContentLoaded", () => syncSwitches(document));
document.addEventListener("htmx:load", (event) => syncSwitches(event.target));

// <button data-menu-toggle="#topnav" hidden>: on a phone the top bar's navigation folds behind
// it. Without JavaScript the button stays hidden and the navigation open.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-menu-toggle]").forEach((button) => {
    button.hidden = false;
    document.documentElement.classList.add("has-menu");
  });
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-toggle]");
  if (!button) return;
  const menu = document.querySelector(button.dataset.menuToggle);
  if (!menu) return;
  const open = menu.classList.toggle("open");
  button.setAttribute("aria-expanded", String(open));
});

// <table class="table cards">: on a phone each row is a card, each cell labelled with its
// column's header (CSS reads data-label). Rows added by htmx ("Load more") are labelled too.
function labelCells(root) {
  const tables = root.matches?.("table.cards") ? [root] : [];
  tables.push(...root.querySelectorAll("table.cards"));
  const within = root.closest?.("table.cards");
  if (within) tables.push(within);
  for (const table of tables) {
    const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((row) => {
      [...row.children].forEach((cell, index) => {
        if (names[index] && !cell.hasAttribute("data-label")) cell.dataset.label = names[index];
      });
    });
    table.dataset.labelled = "";
  }
}
document.addEventListener("DOMContentLoaded", () => labelCells(document));
document.addEventListener("htmx:load", (event) => labelCells(event.target));
