"""Production static files: collectstatic with the manifest storage succeeds.

The manifest storage follows every url() and sourceMappingURL in vendored
CSS and JS; a referenced file missing from static/ fails the deploy.

brotli is hidden from the command, as in the production install: it is no runtime
dependency (it arrives here with locust, a dev tool), and whitenoise compressing
every file with it at quality 11 took 33 of this test's 37 s.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_collectstatic_with_production_settings(tmp_path):
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # see test_settings.py
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DEBUG="False",
        SECRET_KEY="collectstatic-test-key-not-secret-" + "x" * 30,
        ALLOWED_HOSTS="symbiosis.example.kz",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    collect = (
        "import runpy, sys; sys.modules['brotli'] = None; "
        "sys.argv = ['manage.py', 'collectstatic', '--noinput']; "
        "runpy.run_path('manage.py', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", collect],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/leaflet/leaflet.js" in manifest
    assert "vendor/htmx/" in manifest
    # Compressed as whitenoise serves it in production (gzip; brotli is not installed).
    assert list((tmp_path / "static" / "vendor" / "htmx").glob("htmx-*.min.*.js.gz"))
