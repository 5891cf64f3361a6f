"""The form renderer writes the same HTML as Django's widget templates."""

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from symbiosis import form_renderer
from symbiosis.forms import DemandForm, SupplyForm

DJANGO = DjangoTemplates()
FAST = form_renderer.FormRenderer()

WIDGETS = [
    (forms.TextInput(), None),
    (forms.TextInput(), ""),
    (forms.TextInput(attrs={"maxlength": 20, "required": True, "disabled": False}), 'a "b" <c>'),
    (forms.NumberInput(attrs={"step": "any", "min": 0}), Decimal("12.5000")),
    (forms.NumberInput(), 0),
    (forms.EmailInput(), "x@example.kz"),
    (forms.URLInput(), "https://example.kz/?a=1&b=2"),
    (forms.PasswordInput(render_value=True), "secret&"),
    (forms.HiddenInput(), "next=/a?b=1&c=2"),
    (forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), date(2027, 1, 31)),
    (forms.CheckboxInput(), True),
    (forms.CheckboxInput(), False),
    (forms.CheckboxInput(attrs={"aria-describedby": "x_help"}), "on"),
    (forms.Textarea(), None),
    (forms.Textarea(attrs={"rows": 3, "cols": 40}), "line one\n<b>two</b> & 'three'"),
    (forms.Textarea(), ""),
]


@pytest.mark.parametrize(("widget", "value"), WIDGETS)
def test_each_widget_renders_as_djangos_template_does(widget, value):
    attrs = {"id": "id_field", "class": "narrow"}
    assert widget.render("field", value, attrs, FAST) == widget.render(
        "field", value, attrs, DJANGO
    )


def test_other_templates_go_through_djangos_renderer():
    widget = forms.Select(choices=[("a", "A & B"), ("b", "<B>")])
    assert widget.render("s", "a", {}, FAST) == widget.render("s", "a", {}, DJANGO)
    assert "django/forms/widgets/select.html" not in form_renderer.FAST


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", [SupplyForm, DemandForm])
def test_the_listing_forms_render_the_same(form_class, member_a):
    data = {"quantity": "1<2", "description": 'said "no" & left', "moisture_percent": "x"}
    for form in (form_class(user=member_a), form_class(data, user=member_a)):
        assert isinstance(form.renderer, form_renderer.FormRenderer)  # the setting
        fast = [f.as_widget() for f in form]
        form.renderer = DJANGO
        assert [f.as_widget() for f in form] == fast
