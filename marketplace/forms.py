"""Forms of the deal pages: they check the shape of input; the services decide the rest."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from marketplace.models import Deal
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis.models import DemandListing, Organization, Site
from symbiosis.models.listings import Recurrence, Status


class DateInput(forms.DateInput):
    input_type = "date"


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: per field where it has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class TermsForm(forms.Form):
    tonnes_per_period = forms.DecimalField(
        label=_("Tonnes per period"),
        min_value=Decimal("0.0001"),
        max_digits=14,
        decimal_places=4,
    )
    period = forms.ChoiceField(label=_("Period"), choices=Recurrence.choices)
    price_kzt_per_t = forms.DecimalField(
        label=_("Price (KZT per tonne)"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Negative when the supplier pays the receiver."),
    )
    transport_by = forms.ChoiceField(label=_("Transport by"), choices=Deal.TransportBy.choices)
    start_date = forms.DateField(label=_("Start"), widget=DateInput)
    end_date = forms.DateField(label=_("End"), widget=DateInput)
    note = forms.CharField(
        label=_("Note for the other party"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @classmethod
    def for_deal(cls, deal: Deal, **kwargs):
        initial = {name: getattr(deal, name) for name in cls.base_fields if name != "note"}
        return cls(initial=initial, **kwargs)


class DealOfferForm(TermsForm):
    """A company offers to take another company's public supply."""

    receiver = forms.ModelChoiceField(
        label=_("Your organization"), queryset=Organization.objects.none()
    )
    demand = forms.ModelChoiceField(
        label=_("Your demand listing it answers"),
        queryset=DemandListing.objects.none(),
        required=False,
    )
    receiver_site = forms.ModelChoiceField(
        label=_("Deliver to (site)"),
        queryset=Site.objects.none(),
        required=False,
        help_text=_("Leave empty to use the site of the demand listing."),
    )
    field_order = ["receiver", "demand", "receiver_site"]

    def __init__(self, *args, viewer, supply, **kwargs):
        super().__init__(*args, **kwargs)
        own = sorted(viewer.organization_ids - {supply.organization_id})
        self.fields["receiver"].queryset = Organization.objects.filter(pk__in=own)
        if len(own) == 1:
            # Nothing to choose: the service takes the user's one organization.
            self.fields["receiver"].required = False
            self.fields["receiver"].initial = own[0]
            self.fields["receiver"].widget = forms.HiddenInput()
        accepts = Q(materials=supply.material) | Q(uses__rules__material=supply.material)
        self.fields["demand"].queryset = (
            DemandListing.objects.filter(accepts, organization_id__in=own)
            .exclude(status=Status.CLOSED)
            .select_related("site")
            .distinct()
        )
        self.fields["receiver_site"].queryset = Site.objects.filter(
            organization_id__in=own
        ).select_related("organization")
        self.fields["demand"].label_from_instance = _demand_label
        self.fields["period"].initial = supply.recurrence
        self.fields["transport_by"].initial = Deal.TransportBy.RECEIVER
        self.fields["price_kzt_per_t"].initial = supply.price_kzt_per_t or 0
        self.fields["tonnes_per_period"].initial = plain_number(supply.tonnes)
        self.fields["start_date"].initial = supply.available_from
        self.fields["end_date"].initial = supply.available_until


def _demand_label(demand: DemandListing) -> str:
    """ "12 t per month at Site (#7)", in the active language."""
    return gettext("%(tonnes)s %(t)s %(period)s at %(site)s (#%(id)s)") % {
        "tonnes": plain_number(demand.tonnes),
        "t": pgettext("unit symbol: tonnes", "t"),
        "period": demand.get_recurrence_display(),
        "site": demand.site.name,
        "id": demand.pk,
    }


class AcceptForm(forms.Form):
    terms_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class DeliveryForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput)
    tonnes = forms.DecimalField(
        label=_("Tonnes (weighbridge)"), min_value=Decimal("0.001"), max_digits=12, decimal_places=3
    )
    ticket_number = forms.CharField(label=_("Ticket number"), max_length=60)
    vehicle = forms.CharField(label=_("Vehicle"), max_length=40, required=False)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
