"""htmx pages of the platform, one small module per feature.

``home`` and ``healthz`` are imported here because the project's urls.py
refers to them as ``views.home`` and ``views.healthz``; the workspace pages
are routed by ``symbiosis.views.urls``.
"""

from symbiosis.views.home import healthz, home

__all__ = ["healthz", "home"]
