"""/healthz: 200 only when users can be served (database, broker, static manifest), else 503.

The static cases run the real collectstatic and the production storage on the
files base.html links (all of static/ takes 30 s: tests/symbiosis/test_static.py).
"""

import json
import shutil
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from symbiosis import health

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def _collect(settings, tmp_path, backend: str) -> Path:
    """DEBUG off and ``backend`` as the static storage; collectstatic of base.html's files."""
    source = tmp_path / "source"
    for name in health.base_static_names():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "static" / name, source / name)
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    call_command("collectstatic", interactive=False, verbosity=0)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    return settings.STATIC_ROOT


@pytest.fixture
def manifest_static(settings, tmp_path) -> Path:
    """What the release build leaves: the manifest storage, collected with DEBUG off."""
    return _collect(settings, tmp_path, MANIFEST_STORAGE)


def _health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


def test_healthz_names_every_part_it_checked(client):
    assert _health(client) == (
        200,
        {"status": "ok", "failing": [], "database": "ok", "broker": "ok", "static": "ok"},
    )


def test_healthz_is_public_and_never_cached():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_a_broker_pointing_nowhere_answers_503_quickly_naming_the_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
    started = time.monotonic()
    status, body = _health(client)
    assert time.monotonic() - started < health.BROKER_TIMEOUT_S + 1
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok"
    assert "127.0.0.1" not in json.dumps(body)  # no address of the server to the public


def test_a_filesystem_broker_without_its_folders_answers_503(client, settings, tmp_path):
    gone = str(tmp_path / "deleted")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": gone,
        "data_folder_out": gone,
        "processed_folder": gone,
    }
    status, body = _health(client)
    assert status == 503
    assert body["failing"] == ["broker"]
    assert str(tmp_path) not in json.dumps(body)


def test_the_release_build_s_manifest_is_healthy(client, manifest_static):
    assert (manifest_static / "staticfiles.json").exists()
    assert _health(client) == (
        200,
        {"status": "ok", "failing": [], "database": "ok", "broker": "ok", "static": "ok"},
    )


def test_static_collected_without_the_manifest_answers_503(client, settings, tmp_path):
    # The old Dockerfile: collectstatic under DEBUG=True (plain storage), served with
    # DEBUG off (manifest storage): every page was a 500 and /healthz said 200.
    _collect(settings, tmp_path, "django.contrib.staticfiles.storage.StaticFilesStorage")
    status, body = _health(client)
    assert status == 503
    assert body["failing"] == ["static"]
    assert body["static"] == "manifest missing"


def test_a_manifest_moved_away_after_the_worker_loaded_it_answers_503(client, manifest_static):
    # The page renders: this worker read the manifest when it first resolved a file.
    assert client.get("/").status_code == 200
    (manifest_static / "staticfiles.json").rename(manifest_static / "staticfiles.json.moved")
    status, body = _health(client)
    assert (status, body["failing"], body["static"]) == (503, ["static"], "manifest missing")
    (manifest_static / "staticfiles.json.moved").rename(manifest_static / "staticfiles.json")
    assert _health(client)[0] == 200


def test_a_manifest_without_a_file_base_html_links_answers_503(client, manifest_static):
    path = manifest_static / "staticfiles.json"
    manifest = json.loads(path.read_text())
    del manifest["paths"]["css/site.css"]
    path.write_text(json.dumps(manifest))
    status, body = _health(client)
    assert (status, body["failing"]) == (503, ["static"])
    assert body["static"] == "manifest lacks css/site.css"


def test_a_hashed_file_missing_from_disk_answers_503(client, manifest_static):
    manifest = json.loads((manifest_static / "staticfiles.json").read_text())
    (manifest_static / manifest["paths"]["js/chooser.js"]).unlink()
    status, body = _health(client)
    assert (status, body["static"]) == (503, "js/chooser.js missing")


def test_base_html_s_static_files_are_read_from_its_source():
    names = health.base_static_names()
    assert "css/site.css" in names
    assert any(name.startswith("vendor/htmx/") for name in names)
