"""The form a facilitator corrects a legal rule with (``symbiosis.views.legal``)."""

from django import forms

from symbiosis.models.regulation import LegalRule
from symbiosis.regulation import EDITABLE_FIELDS


class LegalRuleForm(forms.ModelForm):
    url = forms.URLField(
        label=LegalRule._meta.get_field("url").verbose_name,
        max_length=500,
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = LegalRule
        fields = list(EDITABLE_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("quote", "gloss_en", "platform_does", "left_to_people", "note")
        }
