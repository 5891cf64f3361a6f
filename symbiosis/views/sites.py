"""Sites: create and edit, with a map picker that degrades to typed coordinates."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from symbiosis import selectors, services
from symbiosis.forms import SiteForm
from symbiosis.views.common import member_required, redirect_to

# Almaty's centre, where the map opens for a new site.
DEFAULT_CENTRE = (43.2389, 76.8897)


def _render(request, form, *, site=None, action_url):
    context = {
        "form": form,
        "site": site,
        "action_url": action_url,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "default_centre": DEFAULT_CENTRE,
    }
    template = "symbiosis/_site_form.html" if request.htmx else "symbiosis/site_form.html"
    return render(request, template, context)


@member_required
def site_create(request):
    action_url = reverse("site-create")
    form = SiteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            site = services.site_create(user=request.user, **values)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Site saved."))
            return redirect_to(request, reverse("home") + f"#site-{site.pk}")
    return _render(request, form, action_url=action_url)


@member_required
def site_edit(request, pk):
    site = get_object_or_404(selectors.own_site_list(user=request.viewer), pk=pk)
    action_url = reverse("site-edit", args=[pk])
    form = SiteForm(request.POST or None, user=request.user, instance=site)
    if request.method == "POST" and form.is_valid():
        try:
            services.site_update(user=request.user, site=site, **form.cleaned_data)
        except ValidationError as exc:
            site.refresh_from_db()
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Site saved."))
            return redirect_to(request, reverse("home") + f"#site-{site.pk}")
    return _render(request, form, site=site, action_url=action_url)
