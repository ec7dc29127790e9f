from decimal import Decimal

from django import forms


class SpendingLimitForm(forms.Form):
    """An organization's monthly cap in dollars (Neon keeps cents); empty takes it away."""

    dollars = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        label="Monthly spending limit (USD)",
        help_text="Empty: no limit. Neon e-mails at 80 % and 100 %; it suspends nothing.",
    )

    def cents(self) -> int | None:
        dollars = self.cleaned_data["dollars"]
        return None if dollars is None else int(dollars * 100)


class BudgetForm(forms.Form):
    """A monthly budget for each project of a class, in dollars."""

    klass = forms.ChoiceField(label="Class")
    dollars = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        label="Budget per project (USD a month)",
    )

    def __init__(self, data=None, *, classes: list[str], **kwargs):
        super().__init__(data, **kwargs)
        self.fields["klass"].choices = [(c, c) for c in classes]

    def cents(self) -> int:
        return int(self.cleaned_data["dollars"] * 100)


class ProjectBudgetForm(forms.Form):
    """One project's monthly budget, in dollars."""

    dollars = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        label="Budget for this project (USD a month)",
    )

    def cents(self) -> int:
        return int(self.cleaned_data["dollars"] * 100)
