"""``{% city_public_page as on %}``: whether the city's public page is published.

The home page links it for visitors who are not logged in, only when
``CITY_PUBLIC_PAGE`` is on (off, the address answers 404).
"""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def city_public_page() -> bool:
    return bool(getattr(settings, "CITY_PUBLIC_PAGE", False))
