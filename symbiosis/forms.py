"""Forms of the company workspace.

Forms check the shape of what was typed and turn it into values; they never
save. The views hand ``cleaned_data`` to the services (``symbiosis.services``),
which check permissions, validate the whole row and write it in one
transaction, and ``add_service_errors`` puts what the services reject back
on the fields the user typed. The forms of accounts are in
``symbiosis.account_forms``.

Just over 500 lines: the listing, site, fate-review, clearance and market forms share the
widgets and the field checks (``field_check``) at the top.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import DecimalValidator, MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from symbiosis import market_map, market_search, selectors
from symbiosis.fates import COMPANY_EVIDENCE
from symbiosis.legal import IMPORTED_ORIGIN_RESTRICTION
from symbiosis.material_picker import MaterialPicker
from symbiosis.models import (
    DemandListing,
    ImportedOriginClearance,
    Material,
    Site,
    SupplyListing,
    Use,
)
from symbiosis.models.accounts import District
from symbiosis.models.listings import (
    Contaminant,
    Fate,
    FateEvidence,
    Recurrence,
    Status,
    contaminant_codes,
)
from symbiosis.models.materials import MaterialCategory
from symbiosis.profile_forms import add_season_fields, clean_season, month_fields, season_values
from symbiosis.validators import (
    REASON_MAX_CHARS,
    business_date_window,
    validate_business_date,
)


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


class KnownModelChoiceField(forms.ModelChoiceField):
    """A model choice read from ``known`` ({pk: object}) when the caller has the
    objects already (the bulk import, a query saved a row); else from its queryset.
    ``known`` holds exactly the choices the queryset would offer."""

    known: dict | None = None

    def to_python(self, value):
        if self.known is None:
            return super().to_python(value)
        if value in self.empty_values:
            return None
        found = self.known.get(_choice_key(value))
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return found


class KnownModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """``KnownModelChoiceField`` for several: a list of the chosen objects."""

    known: dict | None = None

    def clean(self, value):
        if self.known is None:
            return super().clean(value)
        value = self.prepare_value(value)
        if not value:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if not isinstance(value, (list, tuple)):
            raise ValidationError(self.error_messages["invalid_list"], code="invalid_list")
        found = []
        for item in value:
            obj = self.known.get(_choice_key(item))
            if obj is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
            if obj not in found:
                found.append(obj)
        self.run_validators(found)
        return found


def _choice_key(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def use_known_objects(form, known: dict) -> None:
    """Let ``form`` read its model choices from ``known`` ({field: {pk: object}})."""
    for name, objects in known.items():
        form.fields[name].known = objects


class ServiceForm:
    """Mixin: report a service's ``ValidationError`` on the form's fields."""

    SERVICE_FIELDS: dict = {}
    # Fields checked as the user leaves them (htmx, before the submit: field_check),
    # and those whose message depends on another field's value, checked with it.
    CHECKED_FIELDS: tuple = ()
    CHECK_PARTNERS: dict = {}

    def check_ok(self, name: str) -> str:
        """A word for a field that passed its check (none by default)."""
        return ""

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


def field_check(form, name: str) -> list[dict]:
    """What the form says of field ``name`` as the user leaves it, and of the fields
    whose message depends on it (``CHECK_PARTNERS``, once they hold a value).

    The same rules as the submit (the form is cleaned whole; other fields' errors
    are not shown yet). ``[{"field": BoundField, "errors": [...], "ok": str}]``,
    ``name``'s first.
    """
    form.is_valid()
    checks = []
    for each in (name, *form.CHECK_PARTNERS.get(name, ())):
        if each != name and not form.data.get(each):
            continue
        errors = list(form.errors.get(each, []))
        extra = getattr(form, f"check_{each}", None)
        if not errors and extra is not None:
            errors = extra()
        checks.append(
            {"field": form[each], "errors": errors, "ok": "" if errors else form.check_ok(each)}
        )
    return checks


def _check_on_change(form, url_name: str, *url_args, method: str = "hx-get") -> None:
    """Ask the field-check endpoint about each of ``CHECKED_FIELDS`` when it changes
    (on leaving the field), its answer going under the field (``_checked_field.html``)."""
    for name in form.CHECKED_FIELDS:
        if name not in form.fields:
            continue
        attrs = {
            method: reverse(url_name, args=[*url_args, name]),
            "hx-trigger": "change",
            "hx-target": f"#id_{name}_check",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
        partners = [p for p in form.CHECK_PARTNERS.get(name, ()) if p in form.fields]
        # A GET carries only the field's own value: the partners' come along.
        partners += [p for p, of in form.CHECK_PARTNERS.items() if name in of and p in form.fields]
        if partners and method == "hx-get":
            attrs["hx-include"] = ", ".join(f"#id_{p}" for p in dict.fromkeys(partners))
        form.fields[name].widget.attrs.update(attrs)


def _percent(message):
    def validate(value):
        if value is not None and not Decimal(0) <= value <= Decimal(100):
            raise ValidationError(message, code="percent")

    return validate


def _above_zero(message, negative_message=None):
    def validate(value):
        if value is not None and value < 0 and negative_message:
            raise ValidationError(negative_message, code="negative")
        if value is not None and value <= 0:
            raise ValidationError(message, code="not_positive")

    return validate


# Listing numbers whose model limits read as machine words ("Ensure this value is
# greater than or equal to 0.000001"): the same limits, said as a person would.
_PERCENT_FIELDS = {
    "moisture_percent": _("Moisture is a percentage: 0 to 100."),
    "contamination_percent": _("Contamination is a percentage: 0 to 100."),
    "max_moisture_percent": _("Moisture is a percentage: 0 to 100."),
    "max_contamination_percent": _("Contamination is a percentage: 0 to 100."),
}
_POSITIVE_FIELDS = {
    "piece_mass_kg": (_("Give a mass above zero."), _("A mass cannot be negative.")),
    "max_km": (
        _("Give a distance above zero, or leave it empty for no limit."),
        _("A distance cannot be negative."),
    ),
    "min_lot_tonnes": (
        _("Give a minimum lot above zero, or leave it empty."),
        _("A minimum lot cannot be negative."),
    ),
    "cn_ratio": (
        _("Give a C:N ratio above zero (carbon per part of nitrogen), or leave it empty."),
        _("A C:N ratio cannot be negative."),
    ),
    "particle_size_mm": (
        _("Give a particle size above zero, in mm, or leave it empty."),
        _("A particle size cannot be negative."),
    ),
    "storage_capacity_tonnes": (
        _("Give what you can hold in tonnes, above zero, or leave it empty."),
        _("A storage capacity cannot be negative."),
    ),
}


def _human_listing_numbers(form) -> None:
    for name, message in _PERCENT_FIELDS.items():
        if name not in form.fields:
            continue
        field = form.fields[name]
        # Only the decimals are the column's own limit: past 100 one message says it.
        field.validators = [DecimalValidator(None, field.decimal_places), _percent(message)]
        field.widget.attrs.update(inputmode="decimal", step="any", min="0", max="100")
    for name, (message, negative) in _POSITIVE_FIELDS.items():
        if name in form.fields:
            form.fields[name].validators.append(_above_zero(message, negative))
            form.fields[name].widget.attrs.update(inputmode="decimal", step="any", min="0")


class ListingForm(ServiceForm, forms.ModelForm):
    """Shared by supply and demand forms; ``user`` limits the sites offered."""

    KIND = ""  # "supply" or "demand": the field-check endpoint's
    CHECKED_FIELDS = (
        "quantity",
        "piece_mass_kg",
        "available_from",
        "available_until",
        "fate_cost_kzt_per_t",
        "price_kzt_per_t",
        "moisture_percent",
        "contamination_percent",
        "cn_ratio",
        "particle_size_mm",
        "max_moisture_percent",
        "max_contamination_percent",
        "max_price_kzt_per_t",
        "min_lot_tonnes",
        "max_km",
    )
    # The end date's message depends on the start.
    CHECK_PARTNERS = {"available_from": ("available_until",)}

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
        add_season_fields(self)
        self.fields["storage_capacity_tonnes"].label = _("We can store up to (t)")
        self.fields["storage_capacity_tonnes"].help_text = _(
            "What your site can hold from one month to the next, for runs by month; "
            "leave it empty if you cannot store it."
        )
        _human_listing_numbers(self)
        _check_on_change(self, "listing-field-check", self.KIND)
        _fast_choices(self)

    def month_fields(self):
        return month_fields(self)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("available_from"), cleaned.get("available_until")
        if start and end and end < start:
            # The model's rule and words, said before the services are asked.
            self.add_error("available_until", _("The end date is before the start date."))
        clean_season(self, cleaned)
        return cleaned

    def _post_clean(self):
        # Model validation (full_clean) is the services' job, run on the
        # values the form hands them; a ModelForm would run it a second time
        # here and change the instance before the service sees it.
        pass

    def service_values(self) -> dict:
        """``cleaned_data`` as the keyword arguments of the services."""
        return season_values(dict(self.cleaned_data))


_LISTING_WIDGETS = {
    "available_from": DateInput(),
    "available_until": DateInput(),
    "description": forms.Textarea(attrs={"rows": 3}),
}


class SupplyForm(ListingForm):
    KIND = "supply"
    # Stored as codes in one column (SupplyListing.contaminants), ticked here.
    contaminants = forms.MultipleChoiceField(
        label=_("Contaminants"),
        choices=Contaminant.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(),
        help_text=_("What may be mixed in; leave all unticked if you do not know."),
    )

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
            "cn_ratio",
            "particle_size_mm",
            "contaminants",
            "imported_origin",
            "max_km",
            "storage_capacity_tonnes",
            "description",
        ]
        widgets = {**_LISTING_WIDGETS, "fate_evidence_note": forms.Textarea(attrs={"rows": 2})}
        field_classes = {"site": KnownModelChoiceField, "material": KnownModelChoiceField}

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
        self.fields["imported_origin"].help_text = format_lazy(
            "{} {}",
            IMPORTED_ORIGIN_RESTRICTION,
            _(
                "The optimizer does not propose it until a facilitator records that its "
                "material is cleared for exchange."
            ),
        )
        if not self.is_bound:
            self.initial["contaminants"] = contaminant_codes(self.initial.get("contaminants"))
        self.fields["moisture_percent"].help_text = _(
            "Of the wet mass; empty: the material's typical value counts. Dry matter is "
            "100 minus this."
        )
        self.fields["cn_ratio"].help_text = _(
            "Carbon to nitrogen, e.g. 25 for 25:1; empty: the material's typical value counts."
        )
        self.fields["cn_ratio"].validators.append(
            MaxValueValidator(1000, message=_("A C:N ratio above 1000 is a typo: check it."))
        )
        # A negative price is a gate fee (the model's and the deals' rule): said, not refused.
        self.fields["price_kzt_per_t"].help_text = _(
            "Negative if you pay the receiver to take it (a gate fee): -2000 means you pay "
            "2,000 KZT per tonne. Leave it empty if it is to be agreed."
        )

    def clean_fate_evidence(self):
        return self.cleaned_data.get("fate_evidence") or FateEvidence.DECLARED

    def clean_contaminants(self):
        return ",".join(contaminant_codes(self.cleaned_data.get("contaminants") or []))


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
    KIND = "demand"
    materials = KnownModelMultipleChoiceField(
        label=_("Accepted materials"),
        queryset=Material.objects.all(),
        required=False,
        widget=MaterialPicker(),  # checkboxes a finger can tick, searched by htmx
    )
    uses = KnownModelMultipleChoiceField(
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
            "storage_capacity_tonnes",
            "description",
        ]
        widgets = _LISTING_WIDGETS
        field_classes = {
            "site": KnownModelChoiceField,
            "reference_material": KnownModelChoiceField,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference_material"].queryset = Material.objects.all()
        self.fields["reference_material"].help_text = _(
            "Only for a quantity in m3 with several accepted materials: whose density to use."
        )
        self.fields["max_price_kzt_per_t"].help_text = _(
            "Negative if you take it only when paid (a gate fee): -2000 means the supplier "
            "pays you at least 2,000 KZT per tonne."
        )


def listing_initial(listing) -> dict:
    """Form values of an existing listing, for a copy of it."""
    form_class = SupplyForm if isinstance(listing, SupplyListing) else DemandForm
    initial = forms.models.model_to_dict(listing, fields=form_class._meta.fields)
    initial["status"] = Status.DRAFT
    initial["monthly_profile"] = listing.monthly_profile
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
        # None chosen: the best match first with a search (symbiosis.market_search),
        # else the nearest (with a site) or the largest.
        ("", _("Best match first")),
        ("distance", _("Nearest first")),
        ("tonnes", _("Most tonnes first")),
        ("newest", _("Newest first")),
    ]
    COMPOSITION_NUMBERS = (
        "max_moisture_percent",
        "min_cn_ratio",
        "max_cn_ratio",
        "max_contamination_percent",
        "max_particle_size_mm",
    )
    COMPOSITION_FIELDS = (*COMPOSITION_NUMBERS, "without_contaminants", "non_hazardous")
    DATA_QUALITY_CHOICES = [
        ("", _("Any data quality")),
        ("lab_tested", _("Lab-tested or verified")),
        ("verified", _("Verified by a facilitator")),
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
    min_tonnes = forms.DecimalField(
        label=_("At least (t)"), min_value=0, max_digits=14, decimal_places=4, required=False
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)
    # Search and facets (symbiosis.market_search); the page shows the search box first.
    q = forms.CharField(label=_("Search"), max_length=market_search.MAX_QUERY_CHARS, required=False)
    recurrence = forms.ChoiceField(
        label=_("Recurrence"),
        choices=[("", _("Any recurrence")), *Recurrence.choices],
        required=False,
    )
    # Shown once the listing models have photos and a data-quality level.
    has_photos = forms.BooleanField(label=_("With photos only"), required=False)
    data_quality = forms.ChoiceField(
        label=_("Data quality"), choices=DATA_QUALITY_CHOICES, required=False
    )
    # Composition of supplies (as the optimizer reads it: the listing's own value, else
    # its material's typical one; a supply stating neither does not pass a limit).
    max_moisture_percent = forms.DecimalField(
        label=_("Moisture at most (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        required=False,
    )
    min_cn_ratio = forms.DecimalField(
        label=_("C:N at least"), min_value=0, max_digits=7, decimal_places=2, required=False
    )
    max_cn_ratio = forms.DecimalField(
        label=_("C:N at most"), min_value=0, max_digits=7, decimal_places=2, required=False
    )
    max_contamination_percent = forms.DecimalField(
        label=_("Contamination at most (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        required=False,
    )
    max_particle_size_mm = forms.DecimalField(
        label=_("Particle size at most (mm)"),
        min_value=0,
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    without_contaminants = forms.MultipleChoiceField(
        label=_("Without"),
        choices=Contaminant.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    non_hazardous = forms.BooleanField(label=_("Non-hazardous only"), required=False)
    # The map's view, "west,south,east,north" in degrees: the list then shows what
    # lies in it (symbiosis.market_map). Set by the map, so hidden.
    bbox = forms.CharField(label=_("Map area"), required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = selectors.own_site_list(user=user)
        for name in ("max_km", "min_tonnes", *self.COMPOSITION_NUMBERS):
            self.fields[name].widget.attrs.update(inputmode="decimal", step="any", min="0")
        self.fields["q"].widget = forms.TextInput(
            attrs={
                "type": "search",
                "maxlength": market_search.MAX_QUERY_CHARS,
                "placeholder": _("Material, EWC code or words of the description"),
                "autocomplete": "off",
                "enterkeyhint": "search",
            }
        )
        _fast_choices(self)

    def composition_given(self) -> bool:
        """A limit on the composition of supplies is set (demands then pass none)."""
        return any(self.value(name) not in (None, [], False) for name in self.COMPOSITION_FIELDS)

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_cn_ratio"), cleaned.get("max_cn_ratio")
        if low is not None and high is not None and low > high:
            self.add_error("max_cn_ratio", _("The highest C:N is below the lowest."))
        return cleaned

    def clean_bbox(self):
        text = self.cleaned_data.get("bbox")
        if not text:
            return None
        try:
            return market_map.parse_bbox(text)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid_bbox") from error

    def value(self, name, default=None):
        """A filter's clean value; an invalid or missing one counts as not given."""
        if not self.is_valid() and name in self.errors:
            return default
        found = self.cleaned_data.get(name)
        return default if found in (None, "") else found


# --- accounts ------------------------------------------------------------------------


class ClearanceForm(ServiceForm, forms.Form):
    """A facilitator's decision on residues of imported origin of one material."""

    material = forms.ModelChoiceField(label=_("Material"), queryset=Material.objects.all())
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ImportedOriginClearance.Outcome.choices)
    basis = forms.CharField(
        label=_("Basis"),
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What the decision rests on: the authority's answer, the legal text (article, "
            "order number and date), or the outcome of the dialogue with legislators."
        ),
    )
    basis_verified = forms.BooleanField(
        label=_("I have read the legal text the basis cites"),
        required=False,
        help_text=_("Unticked, pages show the basis as “not verified”."),
    )
    document = forms.FileField(label=_("Document (PDF or picture)"), required=False)
