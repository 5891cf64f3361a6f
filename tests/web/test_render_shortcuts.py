"""The faster rendering paths give the same HTML and labels as Django's own."""

import pytest
from django import forms as django_forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from symbiosis import selectors
from symbiosis.forms import DemandForm, MarketFilterForm, Select, SupplyForm, _fast_choices
from symbiosis.models import Material
from symbiosis.templatetags.workspace import label
from tests import factories

pytestmark = pytest.mark.django_db


def _django_html(form, name: str) -> str:
    """The field as ``forms.Select`` renders it, through its templates."""
    widget = form.fields[name].widget
    widget.__class__ = django_forms.Select
    try:
        return str(form[name])
    finally:
        widget.__class__ = Select


@pytest.mark.parametrize("language", ["en", "ru"])
def test_python_select_renders_what_django_select_renders(
    member_a, site_a, spent_grain, food_waste, language
):
    factories.SiteFactory(organization=site_a.organization, name='Yard "North" & <east>')
    viewer = selectors.viewer_for(member_a)
    forms_ = [
        SupplyForm(user=viewer),
        SupplyForm({"material": str(spent_grain.pk), "unit": "m3"}, user=viewer),
        DemandForm(user=viewer),
        MarketFilterForm({"material": str(food_waste.pk), "sort": "nonsense"}, user=viewer),
    ]
    checked = 0
    with translation.override(language):
        for form in forms_:
            form.is_valid()
            for name, field in form.fields.items():
                if type(field.widget) is Select:
                    assert str(form[name]) == _django_html(form, name), name
                    checked += 1
    assert checked >= 15  # every plain select of the four forms took the Python path
    assert "selected>Brewery spent grain" in str(forms_[1]["material"])
    assert "&lt;east&gt;" in str(forms_[0]["site"])


class _AttrsForm(django_forms.Form):
    kind = django_forms.ChoiceField(
        choices=[("", "---"), ("a", 'A & "b"'), ("c", "<c>")],
        widget=django_forms.Select(attrs={"class": "wide", "data-note": 'x"y', "autofocus": True}),
    )
    material = django_forms.ModelChoiceField(
        queryset=Material.objects.all(),
        required=False,
        widget=django_forms.Select(attrs={"hx-get": "/m/?a=1&b=2", "disabled": False}),
    )


@pytest.mark.parametrize("data", [None, {"kind": "c", "material": "nonsense"}])
def test_python_select_keeps_what_was_set_on_the_widget_it_replaces(spent_grain, food_waste, data):
    plain, fast = _AttrsForm(data), _AttrsForm(data)
    _fast_choices(fast)
    for name in plain.fields:
        assert type(fast.fields[name].widget) is Select
        assert fast.fields[name].widget.is_required == plain.fields[name].widget.is_required
        # Against a form left to Django's own widgets, not the same widget re-classed.
        assert str(fast[name]) == str(plain[name]), name
    assert 'class="wide"' in str(fast["kind"]) and "required" in str(fast["kind"])


def test_model_choices_are_read_once_per_form(member_a, site_a, spent_grain, food_waste):
    form = SupplyForm(user=selectors.viewer_for(member_a))
    with CaptureQueriesContext(connection) as first:
        str(form["material"])
        str(form["site"])
    with CaptureQueriesContext(connection) as again:
        html = str(form["material"]) + str(form["site"])
    # One plain query per field (no server-side cursor), none when rendered again.
    assert [q["sql"].split()[0] for q in first] == ["SELECT", "SELECT"]
    assert len(again) == 0
    assert f'value="{spent_grain.pk}"' in html
    assert f'value="{site_a.pk}"' in html


@pytest.mark.parametrize("language", ["en", "ru"])
def test_label_filter_matches_get_display(site_a, spent_grain, language):
    listing = factories.SupplyListingFactory(
        site=site_a, organization=site_a.organization, material=spent_grain, unit="kg"
    )
    with translation.override(language):
        for field in ("recurrence", "unit", "status", "visibility"):
            display = getattr(listing, f"get_{field}_display")()
            assert str(label(listing, field)) == display
        assert str(label(site_a, "district")) == site_a.get_district_display()
    listing.recurrence = "not-a-choice"
    assert label(listing, "recurrence") == "not-a-choice"
