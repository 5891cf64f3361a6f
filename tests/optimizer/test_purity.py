"""The optimizer core must run without Django: importing it pulls none in."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CORE = [
    "optimizer.instance",
    "optimizer.candidates",
    "optimizer.problem",
    "optimizer.flow",
    "optimizer.model",
    "optimizer.cli",
    "optimizer.bench",
]


def test_core_imports_no_django():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in CORE)
        + "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        # No DJANGO_SETTINGS_MODULE or anything else inherited that could pull Django in.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"django modules imported: {result.stdout.strip()}"
