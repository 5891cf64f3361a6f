"""Forms of the company workspace.

Forms check the shape of what was typed and turn it into values; they never
save. The views hand ``cleaned_data`` to the services (``symbiosis.services``),
which check permissions, validate the whole row and write it in one
transaction, and ``add_service_errors`` puts what the services reject back
on the fields the user typed.
"""

from decimal import Decimal

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MinValueValidator
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from symbiosis import selectors
from symbiosis.fates import COMPANY_EVIDENCE
from symbiosis.legal import IMPORTED_ORIGIN_RESTRICTION
from symbiosis.models import (
    DemandListing,
    Material,
    Membership,
    Organization,
    Site,
    SupplyListing,
    Use,
    User,
)
from symbiosis.models.accounts import District
from symbiosis.models.listings import Fate, FateEvidence, Status
from symbiosis.models.materials import MaterialCategory
from symbiosis.validators import REASON_MAX_CHARS, business_date_window, validate_business_date


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class EvaluatedChoiceIterator(forms.models.ModelChoiceIterator):
    """Choices from the field's queryset, read once and kept.

    Django's iterator reads the queryset anew at every render, through a
    server-side cursor on PostgreSQL (three round trips for a few rows).
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:  # evaluated on first use, then cached
            yield self.choice(obj)


class Select(forms.Select):
    """``forms.Select`` with the same HTML, written in Python: the template
    renders an include per option, which costs milliseconds on a long list."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"])]
        parts += [_attrs_html(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(format_html('\n  <option value="{}"', str(option["value"])))
                parts.append(_attrs_html(option["attrs"]))
                parts.append(format_html(">{}</option>\n", option["label"]))
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


def _attrs_html(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
        for name, value in attrs.items()
        if value is not False
    )


def _fast_choices(form) -> None:
    """Plain selects render in Python; model choices are read once."""
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField):
            field.iterator = EvaluatedChoiceIterator
        if type(field.widget) is forms.Select:
            fast = Select(attrs=field.widget.attrs, choices=field.choices)
            fast.is_required = field.widget.is_required  # set by Field.__init__
            field.widget = fast
        elif isinstance(field, forms.ModelChoiceField):
            field.widget.choices = field.choices


class ServiceForm:
    """Mixin: report a service's ``ValidationError`` on the form's fields."""

    SERVICE_FIELDS: dict = {}

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            field = self.SERVICE_FIELDS.get(field, field)
            target = field if field in self.fields else None
            if field == NON_FIELD_ERRORS:
                target = None
            self.add_error(target, errors)


class ListingForm(ServiceForm, forms.ModelForm):
    """Shared by supply and demand forms; ``user`` limits the sites offered."""

    def __init__(self, *args, user, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        sites = selectors.own_site_list(user=user)
        self.fields["site"].queryset = sites
        self.fields["site"].label = _("Site")  # the model field has no translatable name
        self.fields["site"].empty_label = _("Choose a site")
        if not self.is_bound and "site" not in self.initial and len(sites) == 1:
            self.initial["site"] = sites[0].pk
        if not creating:
            # An existing listing changes status with its own buttons.
            del self.fields["status"]
        else:
            self.fields["status"].choices = [
                (Status.ACTIVE, _("Active: publish it now")),
                (Status.DRAFT, _("Draft: keep it to myself for now")),
            ]
        quantity = self.fields["quantity"]
        quantity.validators = [
            *(v for v in quantity.validators if not isinstance(v, MinValueValidator)),
            MinValueValidator(Decimal("0.000001"), message=_("Give a quantity above zero.")),
        ]
        self.fields["quantity"].widget.attrs.update(inputmode="decimal", step="any")
        self.fields["piece_mass_kg"].widget.attrs.update(inputmode="decimal", step="any")
        earliest, latest = business_date_window()
        for name in ("available_from", "available_until"):
            # The model's own check, here before the services are asked (a ModelForm
            # leaves model validators to them), and the date picker's bounds.
            self.fields[name].validators.append(validate_business_date)
            self.fields[name].widget.attrs.update(min=earliest.isoformat(), max=latest.isoformat())
        _fast_choices(self)

    def _post_clean(self):
        # Model validation (full_clean) is the services' job, run on the
        # values the form hands them; a ModelForm would run it a second time
        # here and change the instance before the service sees it.
        pass

    def service_values(self) -> dict:
        """``cleaned_data`` as the keyword arguments of the services."""
        return dict(self.cleaned_data)


_LISTING_WIDGETS = {
    "available_from": DateInput(),
    "available_until": DateInput(),
    "description": forms.Textarea(attrs={"rows": 3}),
}


class SupplyForm(ListingForm):
    class Meta:
        model = SupplyListing
        fields = [
            "material",
            "site",
            "quantity",
            "unit",
            "piece_mass_kg",
            "recurrence",
            "available_from",
            "available_until",
            "visibility",
            "status",
            "fate",
            "fate_evidence",
            "fate_evidence_note",
            "fate_cost_kzt_per_t",
            "price_kzt_per_t",
            "moisture_percent",
            "contamination_percent",
            "imported_origin",
            "max_km",
            "description",
        ]
        widgets = {**_LISTING_WIDGETS, "fate_evidence_note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["material"].queryset = Material.objects.all()
        self.fields["material"].label = _("Material")
        self.fields["material"].empty_label = _("Choose a material")
        self.fields["fate"].help_text = _(
            "Where the residue goes today, if nobody takes it: the baseline its exchanges "
            "are measured against."
        )
        # "Verified" is a facilitator's word: offered only to keep a fate one verified.
        evidence = self.fields["fate_evidence"]
        evidence.choices = [
            choice
            for choice in FateEvidence.choices
            if choice[0] in COMPANY_EVIDENCE or self.instance.fate_evidence == choice[0]
        ]
        evidence.help_text = _(
            "Documented: you hold a paper that shows it (landfill receipts, a contract, "
            "invoices). Only a facilitator verifies a fate."
        )
        # Left out (an older client, an import without the column): declared.
        evidence.required = False
        evidence.error_messages["invalid_choice"] = _(
            "Choose declared or documented: only a facilitator verifies a fate."
        )
        self.fields["fate_evidence_note"].help_text = _(
            "Which document, or how you know; needed for a documented fate."
        )
        self.fields["imported_origin"].help_text = IMPORTED_ORIGIN_RESTRICTION

    def clean_fate_evidence(self):
        return self.cleaned_data.get("fate_evidence") or FateEvidence.DECLARED


class FateReviewForm(ServiceForm, forms.Form):
    """A facilitator's decision on a supply's current fate and its evidence."""

    fate = forms.ChoiceField(label=_("Current fate"), choices=Fate.choices)
    fate_evidence = forms.ChoiceField(
        label=_("Evidence of the current fate"), choices=FateEvidence.choices
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The company reads it, and it stays on record."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _fast_choices(self)


class DemandForm(ListingForm):
    materials = forms.ModelMultipleChoiceField(
        label=_("Accepted materials"),
        queryset=Material.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    uses = forms.ModelMultipleChoiceField(
        label=_("Accepted uses"),
        queryset=Use.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple(),
        help_text=_("Or name what you use the material for; any material fit for it matches."),
    )

    class Meta:
        model = DemandListing
        fields = [
            "materials",
            "uses",
            "site",
            "quantity",
            "unit",
            "reference_material",
            "piece_mass_kg",
            "recurrence",
            "available_from",
            "available_until",
            "visibility",
            "status",
            "max_moisture_percent",
            "max_contamination_percent",
            "max_price_kzt_per_t",
            "min_lot_tonnes",
            "max_km",
            "description",
        ]
        widgets = _LISTING_WIDGETS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference_material"].queryset = Material.objects.all()
        self.fields["reference_material"].help_text = _(
            "Only for a quantity in m3 with several accepted materials: whose density to use."
        )


def listing_initial(listing) -> dict:
    """Form values of an existing listing, for a copy of it."""
    form_class = SupplyForm if isinstance(listing, SupplyListing) else DemandForm
    initial = forms.models.model_to_dict(listing, fields=form_class._meta.fields)
    initial["status"] = Status.DRAFT
    if initial.get("fate_evidence") == FateEvidence.VERIFIED:
        # A facilitator verified that listing, not this new one.
        initial["fate_evidence"] = FateEvidence.DECLARED
    return initial


class SiteForm(ServiceForm, forms.ModelForm):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=None, empty_label=None, required=True
    )

    class Meta:
        model = Site
        fields = ["organization", "name", "address", "district", "latitude", "longitude"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = selectors.organization_list(user=user).filter(
            id__in=selectors.viewer_for(user).organization_ids
        )
        if self.instance.pk:
            # A site stays with its organization; listings point at it.
            del self.fields["organization"]
        elif len(self.fields["organization"].queryset) == 1:
            self.fields["organization"].widget = forms.HiddenInput()
            self.initial.setdefault("organization", self.fields["organization"].queryset[0].pk)
        for name in ("latitude", "longitude"):
            self.fields[name].widget.attrs.update(inputmode="decimal", step="any")
        self.fields["latitude"].help_text = _("Degrees north, e.g. 43.238949")
        self.fields["longitude"].help_text = _("Degrees east, e.g. 76.889709")

    def _post_clean(self):
        pass


class MarketFilterForm(forms.Form):
    """The market's filters, read from the query string (GET)."""

    KIND_CHOICES = [("supply", _("Residues on offer")), ("demand", _("Materials wanted"))]
    SORT_CHOICES = [
        ("distance", _("Nearest first")),
        ("tonnes", _("Most tonnes first")),
        ("newest", _("Newest first")),
    ]

    kind = forms.ChoiceField(label=_("Show"), choices=KIND_CHOICES, required=False)
    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("Any category")), *MaterialCategory.choices],
        required=False,
    )
    material = forms.ModelChoiceField(
        label=_("Material"),
        queryset=Material.objects.all(),
        required=False,
        empty_label=_("Any material"),
    )
    district = forms.ChoiceField(
        label=_("District"), choices=[("", _("Any district")), *District.choices], required=False
    )
    site = forms.ModelChoiceField(
        label=_("Distance from"),
        queryset=Site.objects.none(),
        required=False,
        empty_label=_("(no distances)"),
    )
    max_km = forms.DecimalField(
        label=_("Within (km)"), min_value=0, max_digits=8, decimal_places=1, required=False
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = selectors.own_site_list(user=user)
        self.fields["max_km"].widget.attrs.update(inputmode="decimal", step="any", min="0")
        _fast_choices(self)

    def value(self, name, default=None):
        """A filter's clean value; an invalid or missing one counts as not given."""
        if not self.is_valid() and name in self.errors:
            return default
        found = self.cleaned_data.get(name)
        return default if found in (None, "") else found


# --- accounts ------------------------------------------------------------------------


class SignupForm(ServiceForm, forms.Form):
    """A person and the organization they register; BIN checked by its check digit."""

    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    organization_name = forms.CharField(label=_("Organization name"), max_length=200)
    bin = Organization._meta.get_field("bin").formfield()
    sector = Organization._meta.get_field("sector").formfield()
    kind = Organization._meta.get_field("kind").formfield()

    # Service errors on organization fields land on the form's names.
    SERVICE_FIELDS = {"name": "organization_name"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bin"].widget.attrs.update(inputmode="numeric", autocomplete="off")
        self.fields["email"].widget.attrs.update(autocomplete="email")

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            user = User(email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(first, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "email": data["email"],
            "password": data["password1"],
            "organization_name": data["organization_name"],
            "bin": data["bin"],
            "sector": data["sector"],
            "kind": data["kind"],
        }


class OrganizationForm(ServiceForm, forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "bin",
            "sector",
            "kind",
            "contact_name",
            "contact_email",
            "contact_phone",
            "agrees_to_be_named",
        ]

    def _post_clean(self):
        pass


class InviteForm(ServiceForm, forms.Form):
    email = forms.EmailField(label=_("Colleague's e-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )


class InvitationAcceptForm(ServiceForm, forms.Form):
    """For someone without an account yet: the password of the new account."""

    password1 = SignupForm.base_fields["password1"]
    password2 = SignupForm.base_fields["password2"]

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, User(email=self.email))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
