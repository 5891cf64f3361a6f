"""Forms of the deal pages: they check the shape of input; the services decide the rest."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from marketplace.models import MAX_LOADS, Deal
from marketplace.templatetags.marketplace_tags import plain_number
from marketplace.validators import validate_single_line
from symbiosis.models import DemandListing, Organization, Site
from symbiosis.models.listings import Recurrence, Status
from symbiosis.validators import validate_business_date


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # A date input's value is always ISO: the localized "07.12.2026" of a
        # Russian page leaves it empty in the browser.
        super().__init__(attrs=attrs, format="%Y-%m-%d")


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
    start_date = forms.DateField(
        label=_("Start"), widget=DateInput, validators=[validate_business_date]
    )
    end_date = forms.DateField(
        label=_("End"), widget=DateInput, validators=[validate_business_date]
    )
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


class ActivateForm(forms.Form):
    """ "Start deliveries": from which day deliveries are logged."""

    start_date = forms.DateField(
        label=_("Deliveries start on"),
        widget=DateInput,
        validators=[validate_business_date],
        required=False,
        help_text=_(
            "Deliveries can be logged from this day: today or the agreed start, whichever "
            "is later, unless you name another day within the agreed dates."
        ),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


def _weight(label, help_text=""):
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0.001"),
        max_digits=12,
        decimal_places=3,
        required=False,
        help_text=help_text,
    )


class DeliveryForm(forms.Form):
    """A weighbridge ticket: net tonnes, or gross and tare (the net is computed)."""

    date = forms.DateField(label=_("Date"), widget=DateInput, validators=[validate_business_date])
    ticket_number = forms.CharField(
        label=_("Ticket number"), max_length=60, validators=[validate_single_line]
    )
    vehicle = forms.CharField(
        label=_("Vehicle"), max_length=40, required=False, validators=[validate_single_line]
    )
    loads = forms.IntegerField(
        label=_("Number of loads"),
        min_value=1,
        max_value=MAX_LOADS,
        required=False,
        initial=1,
        help_text=_("How many truckloads this ticket stands for."),
    )
    gross_tonnes = _weight(_("Gross (t)"), _("Loaded vehicle on the weighbridge."))
    tare_tonnes = _weight(_("Tare (t)"), _("Empty vehicle."))
    tonnes = _weight(
        _("Tonnes (weighbridge)"), _("Net tonnes; left empty, gross minus tare is taken.")
    )
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)
    # Net tonnes are needed unless gross and tare give them (a correction may keep them).
    tonnes_required = True

    def clean(self):
        data = super().clean()
        gross, tare = data.get("gross_tonnes"), data.get("tare_tonnes")
        if self.errors:
            return data
        if (gross is None) != (tare is None):
            field = "tare_tonnes" if tare is None else "gross_tonnes"
            self.add_error(field, gettext("Give both gross and tare, or neither."))
        elif gross is not None:
            net = gross - tare
            if net <= 0:
                self.add_error(
                    "tare_tonnes", gettext("The tare must be less than the gross weight.")
                )
            elif data.get("tonnes") is None:
                data["tonnes"] = net
        elif data.get("tonnes") is None and self.tonnes_required:
            self.add_error("tonnes", gettext("Give the net tonnes, or gross and tare."))
        if data.get("loads") is None and self.tonnes_required:
            data["loads"] = 1
        return data


class CorrectionForm(DeliveryForm):
    """A correction of a confirmed delivery: the figures that change (the others stay)."""

    reason = forms.CharField(
        label=_("What was wrong"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    void = forms.BooleanField(label=_("The load never happened (no replacement)"), required=False)
    field_order = ["reason", "void"]
    tonnes_required = False

    def __init__(self, *args, delivery=None, **kwargs):
        if delivery is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "date": delivery.date,
                "ticket_number": delivery.ticket_number,
                "vehicle": delivery.vehicle,
                "loads": delivery.loads,
                "gross_tonnes": delivery.gross_tonnes,
                "tare_tonnes": delivery.tare_tonnes,
                # With gross and tare, the net follows from them.
                "tonnes": None if delivery.gross_tonnes is not None else delivery.tonnes,
            }
        super().__init__(*args, **kwargs)
        del self.fields["note"]
        for name in ("date", "ticket_number"):
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        # Left empty: as it was.
        for name in ("date", "ticket_number"):
            if data.get(name) in ("", None):
                data[name] = None
        return data


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MovementPeriodForm(forms.Form):
    """A period of movement records to export: ``from`` and ``until`` (delivery dates,
    both included) and the file format."""

    FORMATS = (("csv", "CSV"), ("json", "JSON"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the field is named here, as the URL names it.
        self.fields = {
            "from": forms.DateField(label=_("From"), widget=DateInput),
            "until": forms.DateField(label=_("Until"), widget=DateInput),
            "format": forms.ChoiceField(label=_("Format"), choices=self.FORMATS, initial="csv"),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("until")
        if start and end and end < start:
            self.add_error("until", _("The end of the period is before its start."))
        return cleaned
