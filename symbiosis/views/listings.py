"""Supply and demand listings: create, edit, pause, close, duplicate (htmx).

One set of views serves both kinds; ``KINDS`` says what differs. Forms only
read the input, the services validate and write, so nothing is saved until
the whole listing is valid. Errors re-render the form partial with 200.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from symbiosis import selectors, services
from symbiosis.forms import DemandForm, SupplyForm, field_check, listing_initial
from symbiosis.legal import landfill_ban_warning
from symbiosis.models import Material, SupplyListing
from symbiosis.models.listings import Recurrence, Status, Unit
from symbiosis.units import UnitConversionError, parse_decimal, to_tonnes
from symbiosis.views.attachments import attachments_context
from symbiosis.views.common import member_required, parse_id, redirect_to

# What a listing's status may become from the listing's rows.
TRANSITIONS = {
    Status.DRAFT: (Status.ACTIVE, Status.CLOSED),
    Status.ACTIVE: (Status.PAUSED, Status.CLOSED),
    Status.PAUSED: (Status.ACTIVE, Status.CLOSED),
    Status.CLOSED: (),
}


@dataclass(frozen=True)
class Kind:
    name: str
    form_class: type
    own_list: object
    duplicates: object
    create: object
    update: object
    title_new: str
    title_edit: str
    fieldsets: tuple

    def create_listing(self, user, values: dict):
        site = values["site"]
        return self.create(user=user, organization=site.organization, **values)

    def update_listing(self, user, listing, values: dict):
        return self.update(user=user, **{self.name: listing}, **values)


KINDS = {
    "supply": Kind(
        name="supply",
        form_class=SupplyForm,
        own_list=selectors.own_supply_list,
        duplicates=selectors.supply_duplicates,
        create=services.supply_create,
        update=services.supply_update,
        title_new=gettext_lazy("New supply listing"),
        title_edit=gettext_lazy("Edit supply listing"),
        fieldsets=(
            (gettext_lazy("What and where"), ("material", "site")),
            (
                gettext_lazy("How much"),
                ("quantity", "unit", "piece_mass_kg", "recurrence"),
            ),
            (
                gettext_lazy("When and who sees it"),
                ("available_from", "available_until", "visibility", "status"),
            ),
            (
                gettext_lazy("Season and storage (optional)"),
                ("profile_preset", "storage_capacity_tonnes"),
            ),
            (
                gettext_lazy("Where it goes now"),
                ("fate", "fate_evidence", "fate_evidence_note", "fate_cost_kzt_per_t"),
            ),
            (
                gettext_lazy("Composition (optional)"),
                (
                    "moisture_percent",
                    "cn_ratio",
                    "contamination_percent",
                    "contaminants",
                    "particle_size_mm",
                ),
            ),
            (
                gettext_lazy("Details (optional)"),
                (
                    "price_kzt_per_t",
                    "imported_origin",
                    "max_km",
                    "description",
                ),
            ),
        ),
    ),
    "demand": Kind(
        name="demand",
        form_class=DemandForm,
        own_list=selectors.own_demand_list,
        duplicates=selectors.demand_duplicates,
        create=services.demand_create,
        update=services.demand_update,
        title_new=gettext_lazy("New demand listing"),
        title_edit=gettext_lazy("Edit demand listing"),
        fieldsets=(
            (gettext_lazy("What and where"), ("materials", "uses", "site")),
            (
                gettext_lazy("How much"),
                ("quantity", "unit", "reference_material", "piece_mass_kg", "recurrence"),
            ),
            (
                gettext_lazy("When and who sees it"),
                ("available_from", "available_until", "visibility", "status"),
            ),
            (
                gettext_lazy("Season and storage (optional)"),
                ("profile_preset", "storage_capacity_tonnes"),
            ),
            (
                gettext_lazy("Conditions (optional)"),
                (
                    "max_moisture_percent",
                    "max_contamination_percent",
                    "max_price_kzt_per_t",
                    "min_lot_tonnes",
                    "max_km",
                    "description",
                ),
            ),
        ),
    ),
}


def _own_listing(kind: Kind, request, pk: int):
    """The listing if it belongs to one of the user's organizations, else 404."""
    return get_object_or_404(kind.own_list(user=request.viewer), pk=pk)


def _duplicates_for(kind: Kind, request, data, exclude_id=None) -> list:
    site_id = data.get("site")
    if parse_id(site_id) is None:
        return []
    if kind.name == "supply":
        material_id = data.get("material")
        if parse_id(material_id) is None:
            return []
        found = kind.duplicates(
            user=request.viewer, site_id=site_id, material_id=material_id, exclude_id=exclude_id
        )
    else:
        material_ids = [m for m in data.getlist("materials") if parse_id(m) is not None]
        if not material_ids:
            return []
        found = kind.duplicates(
            user=request.viewer, site_id=site_id, material_ids=material_ids, exclude_id=exclude_id
        )
    return list(found[:5])


def _initial_data(form) -> QueryDict:
    """An unbound form's initial site, materials and fate, as if typed (for the warnings)."""
    data = QueryDict(mutable=True)
    for name in ("site", "material", "fate"):
        value = form.initial.get(name)
        if value is not None:
            data[name] = str(getattr(value, "pk", value))
    for value in form.initial.get("materials") or []:
        data.appendlist("materials", str(getattr(value, "pk", value)))
    return data


def _render_form(request, kind: Kind, form, *, listing=None, action_url: str):
    data = form.data if form.is_bound else _initial_data(form)
    context = {
        "kind": kind,
        "form": form,
        "fieldsets": [
            (title, [form[name] for name in names if name in form.fields])
            for title, names in kind.fieldsets
        ],
        "listing": listing,
        "action_url": action_url,
        "duplicates": _duplicates_for(kind, request, data, listing.pk if listing else None),
        "preview": _preview(data if form.is_bound else _initial_preview_data(form)),
        "fate_warning": _fate_warning(data) if kind.name == "supply" else None,
        "title": kind.title_edit if listing else kind.title_new,
    }
    if listing is not None and not request.htmx:
        # The upload area beside the form (its own forms: they cannot nest).
        context.update(attachments_context(kind.name, listing))
    template = "symbiosis/_listing_form.html" if request.htmx else "symbiosis/listing_form.html"
    return render(request, template, context)


def _initial_preview_data(form) -> dict:
    values = {}
    for name in ("quantity", "unit", "piece_mass_kg", "material", "reference_material"):
        value = form.initial.get(name)
        if value is not None:
            values[name] = str(getattr(value, "pk", value))
    values["materials"] = [str(getattr(m, "pk", m)) for m in form.initial.get("materials") or []]
    return values


def _save(request, kind: Kind, form, listing=None):
    """Hand a valid form to the service; on rejection the errors go on the form."""
    try:
        if listing is None:
            return kind.create_listing(request.user, form.service_values())
        return kind.update_listing(request.user, listing, form.service_values())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


@member_required
def listing_create(request, kind):
    kind = KINDS[kind]
    action_url = reverse("listing-create", args=[kind.name])
    if request.method == "POST":
        form = kind.form_class(request.POST, user=request.viewer)
        if form.is_valid():
            listing = _save(request, kind, form)
            if listing is not None:
                messages.success(request, _("Listing saved."))
                return redirect_to(request, reverse("home") + f"#{kind.name}-{listing.pk}")
    else:
        form = kind.form_class(user=request.viewer, initial={"status": Status.ACTIVE})
    return _render_form(request, kind, form, action_url=action_url)


@member_required
@require_GET
def listing_duplicate(request, kind, pk):
    """A new-listing form filled in from an existing one; nothing is saved yet."""
    kind = KINDS[kind]
    source = _own_listing(kind, request, pk)
    form = kind.form_class(user=request.viewer, initial=listing_initial(source))
    return _render_form(request, kind, form, action_url=reverse("listing-create", args=[kind.name]))


@member_required
def listing_edit(request, kind, pk):
    kind = KINDS[kind]
    listing = _own_listing(kind, request, pk)
    action_url = reverse("listing-edit", args=[kind.name, pk])
    if request.method == "POST":
        form = kind.form_class(request.POST, user=request.viewer, instance=listing, creating=False)
        if form.is_valid():
            saved = _save(request, kind, form, listing)
            if saved is not None:
                messages.success(request, _("Listing saved."))
                return redirect_to(request, reverse("home") + f"#{kind.name}-{saved.pk}")
    else:
        form = kind.form_class(user=request.viewer, instance=listing, creating=False)
    return _render_form(request, kind, form, listing=listing, action_url=action_url)


@member_required
@require_POST
def listing_status(request, kind, pk):
    """Pause, close or (re)activate a listing; htmx swaps the listing's row."""
    kind = KINDS[kind]
    listing = _own_listing(kind, request, pk)
    new_status = request.POST.get("status")
    error = None
    if new_status not in TRANSITIONS.get(listing.status, ()):
        error = _("A %(status)s listing cannot change to that status.") % {
            "status": listing.get_status_display().lower()
        }
    else:
        try:
            kind.update_listing(request.user, listing, {"status": new_status})
        except ValidationError as exc:
            listing.refresh_from_db()
            error = _("Not changed: %(reasons)s Edit the listing to fix it.") % {
                "reasons": " ".join(exc.messages)
            }
    if request.htmx:
        context = {"listing": listing, "kind": kind.name, "error": error}
        return render(request, "symbiosis/_listing_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Status changed."))
    return redirect_to(request, reverse("home") + f"#{kind.name}-{listing.pk}")


# --- htmx helpers of the listing form ---------------------------------------------


@login_required
@require_GET
def material_options(request):
    """``<option>``s of the materials matching ``q``, for the material choosers.

    ``field`` names the select being searched, whose current values come
    along (``hx-include``) so a choice already made is kept.
    """
    field = request.GET.get("field", "material")
    multiple = request.GET.get("multiple") == "1"
    query = request.GET.get("q", "").strip()
    chosen = {v for v in request.GET.getlist(field) if parse_id(v) is not None}
    matches = selectors.material_search(query)
    match_ids = {str(m.pk) for m in matches}
    if not multiple and query and matches and not chosen & match_ids:
        # Typing narrows the list to what was meant: pick the best match.
        chosen = {str(matches[0].pk)}
    kept = [m for m in Material.objects.filter(pk__in=chosen) if str(m.pk) not in match_ids]
    if not multiple and query and matches:
        kept = []
    options = [(m, str(m.pk) in chosen) for m in kept + matches]
    context = {
        "options": options,
        "query": query,
        "count": len(matches),
        "multiple": multiple,
        "blank": not multiple and not any(selected for _m, selected in options),
    }
    response = render(request, "symbiosis/_material_options.html", context)
    # The tonnes preview and the duplicate warning depend on the material.
    return trigger_client_event(response, "materialChanged", after="settle")


def _typed_number(data, name: str) -> Decimal | None:
    """A number field of the listing form, read and bounded as the form reads it."""
    field = SupplyListing._meta.get_field(name)
    try:
        return parse_decimal(
            data.get(name, ""), max_digits=field.max_digits, decimal_places=field.decimal_places
        )
    except ValidationError as exc:
        if exc.code == "invalid":
            return None
        raise ValidationError(f"{capfirst(field.verbose_name)}: {' '.join(exc.messages)}") from exc


def _density_material(data) -> Material | None:
    """The material whose density converts m3: the supply's, or the demand's reference."""
    for name in ("material", "reference_material"):
        value = data.get(name)
        if parse_id(value) is not None:
            return Material.objects.filter(pk=value).first()
    get_list = getattr(data, "getlist", None)
    materials = get_list("materials") if get_list else data.get("materials") or []
    materials = [m for m in materials if parse_id(m) is not None]
    if len(materials) == 1:
        return Material.objects.filter(pk=materials[0]).first()
    return None


def _preview(data) -> dict:
    """What the typed quantity means in tonnes, or why it cannot be told."""
    unit = data.get("unit") or Unit.TONNES
    try:
        quantity = _typed_number(data, "quantity")
        # Read only where it counts, as the conversion does.
        piece_mass_kg = _typed_number(data, "piece_mass_kg") if unit == Unit.PIECES else None
    except ValidationError as exc:
        return {"tonnes": None, "message": exc.messages[0]}
    if quantity is None or quantity <= 0:
        return {"tonnes": None, "message": _("Type a quantity to see it in tonnes.")}
    material = _density_material(data)
    try:
        tonnes = to_tonnes(
            quantity,
            unit,
            density_t_per_m3=material.density_t_per_m3 if material else None,
            piece_mass_kg=piece_mass_kg,
        )
    except UnitConversionError as exc:
        message = exc.message
        if unit == Unit.CUBIC_METRES and material is None:
            message = _("Choose the material first: its density converts m3 to tonnes.")
        return {"tonnes": None, "message": message}
    recurrence = dict(Recurrence.choices).get(data.get("recurrence"))
    return {"tonnes": tonnes, "recurrence": recurrence, "material": material, "unit": unit}


@login_required
@require_GET
def tonnes_preview(request):
    return render(request, "symbiosis/_tonnes_preview.html", {"preview": _preview(request.GET)})


def _fate_warning(data) -> dict | None:
    """The landfill-ban warning for the typed material and fate, or None."""
    material_id = data.get("material")
    if parse_id(material_id) is None:
        return None
    material = Material.objects.filter(pk=material_id).first()
    return landfill_ban_warning(material, data.get("fate") or "")


@member_required
@require_GET
def fate_warning(request):
    """The supply form's warning when the fate typed is a banned disposal of the material."""
    return render(
        request, "symbiosis/_fate_warning.html", {"fate_warning": _fate_warning(request.GET)}
    )


@member_required
@require_GET
def listing_field_check(request, kind, field):
    """One listing field's message as the user leaves it (htmx), in the words the
    submit uses: a moisture of 150 %, a negative distance, an end before the start."""
    form = KINDS[kind].form_class(request.GET, user=request.viewer)
    if field not in form.CHECKED_FIELDS or field not in form.fields:
        raise Http404
    return render(request, "symbiosis/_field_checks.html", {"checks": field_check(form, field)})


@member_required
@require_GET
def duplicate_warning(request, kind):
    kind = KINDS[kind]
    exclude = request.GET.get("exclude")
    duplicates = _duplicates_for(kind, request, request.GET, parse_id(exclude))
    context = {"duplicates": duplicates, "kind": kind}
    return render(request, "symbiosis/_duplicate_warning.html", context)
