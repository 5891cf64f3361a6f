"""Movement records on the pages: the export of a period (CSV or JSON) and one
delivery's record. The records are ``marketplace.movement``'s; a company exports
its own deals' deliveries, a facilitator everyone's, a city analyst none (403)."""

import json
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from marketplace import movement
from marketplace.forms import MovementPeriodForm
from symbiosis import selectors as symbiosis_selectors


def _reader(request):
    viewer = symbiosis_selectors.viewer_for(request.user)
    if not viewer.reads_company_data:
        raise PermissionDenied("City analysts see aggregates, not deliveries.")
    return viewer


def period_form(data=None) -> MovementPeriodForm:
    """The period form, by default this year up to today."""
    today = timezone.localdate()
    initial = {"from": date(today.year, 1, 1), "until": today, "format": "csv"}
    return MovementPeriodForm(data, initial=initial)


@login_required
@require_GET
def movement_export(request):
    """``?from=&until=&format=csv|json``: the file; without them (or with errors) the form."""
    viewer = _reader(request)
    bound = any(key in request.GET for key in ("from", "until", "format"))
    form = period_form(request.GET if bound else None)
    if bound and form.is_valid():
        start, end = form.cleaned_data["from"], form.cleaned_data["until"]
        records = movement.movement_records(
            movement.movement_deliveries(user=viewer, date_from=start, date_until=end)
        )
        fmt = form.cleaned_data["format"]
        if fmt == "csv":
            response = HttpResponse(
                movement.records_csv(records), content_type="text/csv; charset=utf-8"
            )
        else:
            document = movement.export_document(records, date_from=start, date_until=end)
            response = HttpResponse(
                json.dumps(document, ensure_ascii=False, indent=2),
                content_type="application/json; charset=utf-8",
            )
        name = movement.export_file_name(start, end, fmt)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(request, "marketplace/movement_export.html", {"form": form})


@login_required
@require_GET
def delivery_movement(request, pk):
    """One confirmed delivery's movement record as JSON (404 before it is confirmed)."""
    viewer = _reader(request)
    delivery = movement.movement_delivery_get(user=viewer, delivery_id=pk)
    return JsonResponse(
        movement.movement_record(delivery), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
