from django import forms
from django.utils.translation import gettext_lazy as _

from optimizer.models import OptimizationRun
from symbiosis.models import MaterialCategory, Organization
from symbiosis.models.accounts import District
from symbiosis.validators import REASON_MAX_CHARS


class RunForm(forms.Form):
    """The optimizer's parameters; ``optimizer.run_parameters.clean_run_parameters``
    has the last word."""

    objective = forms.ChoiceField(
        label=_("Objective"),
        choices=OptimizationRun.Objective.choices,
        initial=OptimizationRun.Objective.CO2E,
    )
    landfill_weight_kg_co2e_per_t = forms.FloatField(
        label=_("Landfill weight (kg CO2e per tonne left in landfill)"), initial=0, min_value=0
    )
    road_factor = forms.FloatField(
        label=_("Road factor (road km per straight-line km)"), initial=1.3, min_value=1, max_value=5
    )
    max_km_cap = forms.FloatField(
        label=_("Maximum distance cap (km)"), required=False, min_value=0.001
    )
    min_lot_tonnes = forms.FloatField(
        label=_("Minimum lot where a demand names none (t)"), required=False, min_value=0.001
    )
    time_limit_s = forms.FloatField(
        label=_("Time limit (s)"), initial=60, min_value=1, max_value=3600
    )
    categories = forms.MultipleChoiceField(
        label=_("Only these material categories"),
        choices=MaterialCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    districts = forms.MultipleChoiceField(
        label=_("Only listings in these districts"),
        choices=District.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Only listings of these organizations"),
        queryset=Organization.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    # Off by default: an exchange within one organization is not symbiosis. When
    # on, its proposals are marked and counted apart from the run's totals.
    allow_internal = forms.BooleanField(
        label=_("Also propose internal reuse (exchanges within one organization)"),
        required=False,
        initial=False,
    )

    # Issue 19: off = one period, today's run; on = 12 months from the month given,
    # each listing's tonnes spread by its monthly profile (optimizer.seasons).
    by_month = forms.BooleanField(
        label=_("Run by month: 12 months from the month below"), required=False, initial=False
    )
    periods_start = forms.RegexField(
        label=_("First month"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2027-01"}),
        error_messages={"invalid": _("Give a month as YYYY-MM, e.g. 2027-01.")},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("by_month") and not cleaned.get("periods_start"):
            self.add_error("periods_start", _("Give the first month of a run by month."))
        return cleaned

    def parameters(self) -> dict:
        data = dict(self.cleaned_data)
        data["organization_ids"] = [o.pk for o in data.pop("organizations") or []]
        by_month = data.pop("by_month", False)
        data["periods_start"] = data.get("periods_start") if by_month else None
        return data


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[(a, a) for a in ("approve", "reject", "adjust", "pin", "forbid")]
    )
    reason = forms.CharField(required=False, max_length=REASON_MAX_CHARS)
    tonnes = forms.FloatField(required=False)


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(required=False, max_length=REASON_MAX_CHARS)
