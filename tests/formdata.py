"""What a browser would submit for a form on a page, read from the HTML the dashboard rendered.

Tests that post "the form as shown" must see what a person's browser sends, not what the form
class thinks it shows: a select whose current value has no option submits its first option, an
unticked box submits nothing, a disabled field is left out. The rules are HTML's "constructing
the entry list" (https://html.spec.whatwg.org/#constructing-form-data-set), for the controls
this dashboard uses.
"""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form = form
        self.depth = 0  # >0 while inside the form
        self.found = False
        self.entries: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag: str, attrs_list: list) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attrs_list}
        if tag == "form":
            if self.depth:
                self.depth += 1
            elif not self.found and self._is_the_form(attrs):
                self.depth, self.found = 1, True
            return
        if not self.depth:
            return
        disabled = "disabled" in attrs
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            name = attrs.get("name")
            if not name or disabled or kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.entries.append((name, attrs.get("value", "on")))
                return
            self.entries.append((name, attrs.get("value", "")))
        elif tag == "textarea":
            self._textarea = {"name": attrs.get("name"), "disabled": disabled, "text": []}
        elif tag == "select":
            self._select = {
                "name": attrs.get("name"),
                "disabled": disabled,
                "multiple": "multiple" in attrs,
                "options": [],
            }
        elif tag == "option" and self._select is not None:
            self._option = {"attrs": attrs, "text": []}

    def _is_the_form(self, attrs: dict) -> bool:
        if self.form.startswith("/"):  # by where it posts
            return attrs.get("action") == self.form and attrs.get("method", "").lower() == "post"
        return attrs.get("id") == self.form

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "form":
            self.depth -= 1
        elif tag == "textarea" and self._textarea is not None:
            t = self._textarea
            text = "".join(t["text"])
            # The parser keeps the newline HTML drops right after <textarea>.
            text = text[1:] if text.startswith("\n") else text
            if t["name"] and not t["disabled"]:
                self.entries.append((t["name"], text))
            self._textarea = None
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            self._close_select()

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"].append(data)
        elif self._option is not None:
            self._option["text"].append(data)

    def _close_option(self) -> None:
        if self._option is not None and self._select is not None:
            attrs = self._option["attrs"]
            value = attrs.get("value", unescape("".join(self._option["text"]).strip()))
            self._select["options"].append((value, "selected" in attrs, "disabled" in attrs))
        self._option = None

    def _close_select(self) -> None:
        s = self._select
        self._select = None
        if not s or not s["name"] or s["disabled"]:
            return
        options = s["options"]
        chosen = [value for value, selected, disabled in options if selected and not disabled]
        if s["multiple"]:
            self.entries.extend((s["name"], v) for v in chosen)
            return
        if not chosen:
            # No option marked: a single select shows (and submits) its first enabled option.
            chosen = [value for value, _selected, disabled in options if not disabled][:1]
        if chosen:
            self.entries.append((s["name"], chosen[-1]))


def form_entries(html: str, form: str) -> list[tuple[str, str]]:
    """The entries of the page's form `form`: its id, or (starting with "/") the URL a POST
    form posts to."""
    reader = _FormReader(form)
    reader.feed(html)
    reader.close()
    if not reader.found:
        raise AssertionError(f"no form {form!r} in the page")
    return reader.entries


def form_data(html: str, form: str, **changes: str | list[str]) -> dict[str, list[str]]:
    """The entries as a dict of lists, ready for Django's test client (`client.post(url, d)`),
    with `changes` applied as a person would type them."""
    data: dict[str, list[str]] = {}
    for name, value in form_entries(html, form):
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    return data
