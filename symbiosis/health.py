"""What /healthz checks: the parts every page and every run needs.

A load balancer or ``docker compose`` asks every few seconds, so each check is
bounded: the database answers ``SELECT 1``, the broker takes a connection
within ``BROKER_TIMEOUT_S`` (the filesystem broker: its folders are writable),
and, where the static files go through the manifest storage (DEBUG off), the
manifest on disk names every file ``base.html`` links, those files exist, and
this process's storage resolves them. A worker reads the manifest once, when it
first renders a page; a manifest missing on disk breaks every worker started
later (a restart, ``--max-requests``), so the file is what is checked.

Each check answers None when its part is fine, else a short reason safe to show
anyone; the details (hosts, paths of the server) go to the log only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import Error as DatabaseLibraryError
from django.db import connection
from django.template.loader import get_template

log = logging.getLogger(__name__)

# Long enough for a broker on another host of the same network, short enough
# that a health probe (docker compose: 5 s) gets an answer instead of timing out.
BROKER_TIMEOUT_S = 2
FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder")
STATIC_TAG = re.compile(r"""\{%\s*static\s+['"]([^'"]+)['"]\s*%\}""")


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseLibraryError:
        log.warning("health: database unavailable", exc_info=True)
        return "unavailable"
    return None


def broker_problem() -> str | None:
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})
    if url.startswith("filesystem://"):
        for key in FILESYSTEM_BROKER_FOLDERS:
            folder = options.get(key)
            if folder and not os.access(folder, os.W_OK | os.X_OK):
                log.warning("health: broker folder %s (%s) is missing or read-only", key, folder)
                return "broker folder missing or read-only"
        return None
    # Imported here: kombu (with Celery) is only needed when a real broker is set.
    from kombu import Connection

    if url.startswith(("redis://", "rediss://")):
        options.update(socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S)
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_S, transport_options=options) as broker:
            # No retry: a health probe wants this moment's answer.
            broker.ensure_connection(max_retries=0)
    except Exception:
        log.warning("health: broker unreachable", exc_info=True)
        return "unreachable"
    return None


def static_problem() -> str | None:
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None  # files are served by their own names: there is no manifest to lose
    path = staticfiles_storage.path(staticfiles_storage.manifest_name)
    try:
        stat = os.stat(path)
    except OSError:
        log.warning("health: static manifest %s is missing", path)
        return "manifest missing"
    paths = _manifest_paths(path, stat.st_mtime_ns, stat.st_size)
    if paths is None:
        return "manifest unreadable"
    for name in base_static_names():
        hashed = paths.get(name)
        if hashed is None:
            return f"manifest lacks {name}"
        if not staticfiles_storage.exists(hashed):
            return f"{name} missing"
        try:
            staticfiles_storage.url(name)
        except ValueError:  # this worker's copy of the manifest lacks it
            return f"{name} not in this worker's manifest"
    return None


@functools.lru_cache(maxsize=1)
def _manifest_paths(path: str, mtime_ns: int, size: int) -> dict | None:
    """The manifest's name -> hashed name table; parsed again only when the file changes."""
    try:
        with open(path, encoding="utf-8") as manifest:
            return json.load(manifest)["paths"]
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("health: static manifest %s is unreadable", path, exc_info=True)
        return None


@functools.cache
def base_static_names() -> tuple[str, ...]:
    """The files base.html links (every page extends it), read from its source."""
    return tuple(STATIC_TAG.findall(get_template("base.html").template.source))


def problems() -> dict[str, str | None]:
    """Each part's problem (None: fine), all checked even when one fails."""
    return {
        "database": database_problem(),
        "broker": broker_problem(),
        "static": static_problem(),
    }
