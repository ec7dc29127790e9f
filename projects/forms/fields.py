"""Form fields for Neon's value shapes: IP allowlists, key=value maps, identifier lists, and exact
quantities (a number and a unit) that show any value Neon holds as it is."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms

from projects.project_state import exact_unit

MAX_PG_IDENTIFIER_BYTES = 63

MSG_NOT_AN_IDENTIFIER = (
    "“%(name)s” is not a library name: letters, digits and underscores, at most 63 bytes, "
    "not starting with a digit."
)
MSG_TOO_LONG_BYTES = "At most 63 bytes (Postgres identifiers are limited to 63 bytes)."


def _ip_entry_error(entry: str) -> str | None:
    """Why one allowlist entry is not an IPv4/IPv6 address, CIDR block or a-b range, or None."""
    if "-" in entry:
        first, _, last = (part.strip() for part in entry.partition("-"))
        try:
            start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
        except ValueError:
            return "a range must be two IP addresses joined by “-”"
        if start.version != end.version:
            return "a range cannot mix IPv4 and IPv6"
        if start > end:
            return "the range starts after it ends"
        return None
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=True)
        except ValueError:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                return "not a valid CIDR block"
            return f"host bits are set; did you mean {network}?"
        return None
    try:
        ipaddress.ip_address(entry)
    except ValueError:
        return "not an IPv4 or IPv6 address, CIDR block or range"
    return None


class IPAllowlistField(forms.CharField):
    """One IPv4/IPv6 address, CIDR block or `a-b` range per line; returns a list of strings.

    Blank lines are ignored and repeated entries kept once. Every bad line is reported, by line
    number, so the operator can fix them all at once.
    """

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        entries: list[str] = []
        for line in text.splitlines():
            entry = re.sub(r"\s*-\s*", "-", line.strip().replace("\N{EN DASH}", "-"))
            if entry and entry not in entries:
                entries.append(entry)
        return entries

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        errors = []
        for number, entry in enumerate(value, start=1):
            if reason := _ip_entry_error(entry):
                errors.append(
                    forms.ValidationError(
                        "Entry %(number)s, “%(entry)s”: %(reason)s.",
                        code="invalid_ip",
                        params={"number": number, "entry": entry, "reason": reason},
                    )
                )
        if errors:
            raise forms.ValidationError(errors)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(self.prepare_value(initial))
        except forms.ValidationError:
            return True


class KeyValueField(forms.CharField):
    """`key=value`, one per line; returns a dict of strings (Postgres settings, annotations)."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, *, max_pairs: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        self.max_pairs = max_pairs
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:
        text = super().to_python(value) or ""
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(
                    "Line %(number)s, “%(line)s”: write it as name=value.",
                    code="invalid_pair",
                    params={"number": number, "line": line.strip()},
                )
            pairs[key.strip()] = val.strip()
        return pairs

    def validate(self, value: dict[str, str]) -> None:
        super().validate(value)
        if self.max_pairs is not None and len(value) > self.max_pairs:
            raise forms.ValidationError(
                "At most %(max)s entries (you have %(count)s).",
                code="too_many",
                params={"max": self.max_pairs, "count": len(value)},
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except forms.ValidationError:
            return True


PG_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class IdentifierListField(forms.CharField):
    """Postgres identifiers, one per line (library names); returns a list without repeats.
    Every bad line is reported, by line number."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        names: list[str] = []
        for line in text.splitlines():
            if (name := line.strip()) and name not in names:
                names.append(name)
        return names

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        errors = [
            forms.ValidationError(
                MSG_NOT_AN_IDENTIFIER, code="invalid_identifier", params={"name": name}
            )
            for name in value
            if not PG_IDENTIFIER.fullmatch(name) or len(name.encode()) > MAX_PG_IDENTIFIER_BYTES
        ]
        if errors:
            raise forms.ValidationError(errors)


def max_bytes(value: str) -> None:
    if len(value.encode()) > MAX_PG_IDENTIFIER_BYTES:
        raise forms.ValidationError(MSG_TOO_LONG_BYTES, code="too_long")


MSG_QUANTITY_UNIT = "Choose a unit."
MSG_QUANTITY_TOO_LARGE = "At most %(max)s."


class QuantityWidget(forms.MultiWidget):
    """A whole number and its unit, side by side."""

    def __init__(
        self, units: tuple[tuple[str, int], ...], *, default_unit: str, label: str
    ) -> None:
        self.units = units
        self.default_unit = default_unit
        number = forms.NumberInput(attrs={"min": 0, "step": 1, "inputmode": "numeric"})
        unit = forms.Select(
            choices=[(name, name) for name, _ in units], attrs={"aria-label": f"{label}: unit"}
        )
        super().__init__((number, unit))

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_0" if id_ else id_  # the label names the number; the unit has aria-label

    def decompress(self, value: Any) -> list[Any]:
        if value is None or value == "":
            return [None, self.default_unit]
        if int(value) == 0:  # zero fits every unit: show the one people pick
            return [0, self.default_unit]
        return list(exact_unit(int(value), self.units))


class QuantityField(forms.MultiValueField):
    """A quantity in Neon's base unit (seconds, bytes), typed as a number and a unit.

    Any value Neon holds is shown exactly, in the largest unit that divides it (5400 s is
    "90 minutes", 536870912 bytes "512 MiB", 5401 s "5401 seconds"), so an untouched field
    sends back the very same number. Empty gives None.
    """

    def __init__(
        self,
        *,
        units: tuple[tuple[str, int], ...],
        max_value: int,
        max_message: str | None = None,
        default_unit: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.units = units
        self.sizes = dict(units)
        self.max_value = max_value
        self.max_message = max_message
        kwargs.setdefault("required", False)
        widget = QuantityWidget(
            units, default_unit=default_unit or units[0][0], label=str(kwargs.get("label", ""))
        )
        super().__init__(
            fields=(
                forms.IntegerField(min_value=0, required=False),
                forms.ChoiceField(choices=[(n, n) for n, _ in units], required=False),
            ),
            widget=widget,
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> int | None:
        if not data_list or data_list[0] in (None, ""):
            if self.required:  # the unit alone always has a value, so Django's check misses it
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return None
        count, unit = data_list
        if unit not in self.sizes:
            raise forms.ValidationError(MSG_QUANTITY_UNIT, code="unit")
        total = count * self.sizes[unit]
        if total > self.max_value:
            raise forms.ValidationError(
                self.max_message or MSG_QUANTITY_TOO_LARGE,
                code="max_value",
                params={"max": f"{self.max_value:,}"},
            )
        return total

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.clean(data) != (None if initial in (None, "") else int(initial))
        except forms.ValidationError:
            return True
