"""Forms of the Permits pages (a company's waste permits, a facilitator's review)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from symbiosis.forms import DateInput, ServiceForm
from symbiosis.models.permits import PermitActivity
from symbiosis.validators import REASON_MAX_CHARS


class PermitForm(ServiceForm, forms.Form):
    """A company's waste permit: what it says, and a scan of it."""

    organization = forms.TypedChoiceField(label=_("Organization"), coerce=int)
    number = forms.CharField(label=_("Permit number"), max_length=100)
    issuer = forms.CharField(
        label=_("Issued by"),
        max_length=200,
        help_text=_("The authority that issued it, as the document names it."),
    )
    activity = forms.ChoiceField(label=_("Activity"), choices=PermitActivity.choices)
    codes = forms.CharField(
        label=_("Waste codes covered"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("National waste codes as the permit lists them, comma-separated: 13 02 05*"),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty if the permit has no end date."),
    )
    document = forms.FileField(
        label=_("The permit's document"),
        help_text=_("A PDF, or a photo of it (JPEG, PNG or WebP). A facilitator reads it."),
    )

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [(o.pk, o.name) for o in organizations]
        if len(self.fields["organization"].choices) == 1:
            self.fields["organization"].initial = organizations[0].pk
            self.fields["organization"].widget = forms.HiddenInput()


class PermitReviewForm(ServiceForm, forms.Form):
    """A facilitator's decision on a permit."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("verify", _("Verify")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to reject; the company reads it."),
    )
