"""The map settings a page's map reads from its data attributes (``{% load maps %}``)."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def map_tile_url() -> str:
    """``MAP_TILE_URL``: empty means no tiles (markers on a blank background)."""
    return settings.MAP_TILE_URL


@register.simple_tag
def map_tile_attribution() -> str:
    return settings.MAP_TILE_ATTRIBUTION
