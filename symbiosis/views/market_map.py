"""The market's map data: ``/market/map.json``, with the list's query string.

The same readers as the market (companies and facilitators; city analysts are
refused) and the same filters (``market_query.market_rows``, the map's area included);
what each listing shows and where is ``symbiosis.market_map``'s.
"""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from symbiosis import market_map
from symbiosis.market_query import market_form, market_rows
from symbiosis.views.market import market_reader


@login_required
@require_GET
def market_map_json(request):
    viewer = market_reader(request)
    # As the list: distances (for "within km") from the first own site.
    form = market_form(viewer, request.GET)
    if not form.is_valid():
        errors = {name: [str(e) for e in found] for name, found in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    _ids, _sort, _rows, listings = market_rows(viewer, form)
    answer = market_map.map_data(listings, viewer=viewer, bbox=form.value("bbox"))
    response = JsonResponse(answer)
    # Per user: never kept by a shared cache.
    response["Cache-Control"] = "private, no-cache"
    return response
