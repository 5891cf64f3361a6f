"""The layers hold: import-linter's contracts ([tool.importlinter] in pyproject.toml)
pass on the code, and fail on a copy of it with one forbidden import added.

`make test` runs lint-imports before pytest; running it here as well means pytest
alone fails on a violation. The contracts say that the optimizer core imports no
Django and, of the apps, only the kernel (symbiosis.impact, symbiosis.geo); that
the kernel imports no Django and nothing above it; and that marketplace and
optimizer do not import each other beyond the exceptions listed there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["importlinter"]["contracts"]}


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """lint-imports on the packages under ``cwd``, which it puts first on sys.path."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        # Nothing inherited (PYTHONPATH, DJANGO_SETTINGS_MODULE) decides what it reads.
        env={"PATH": "/usr/bin:/bin"},
    )


def broken(result: subprocess.CompletedProcess) -> set[str]:
    """The ids of the contracts lint-imports reports broken."""
    text = " ".join(result.stdout.split())  # it wraps long contract names
    return {cid for cid, name in CONTRACTS.items() if f"{name} BROKEN" in text}


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory) -> Path:
    """The four packages' Python files and pyproject.toml, to break on purpose."""
    root = tmp_path_factory.mktemp("code")

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n == "__pycache__" or not (n.endswith(".py") or Path(folder, n).is_dir())
        ]

    for package in CONFIG["importlinter"]["root_packages"]:
        shutil.copytree(ROOT / package, root / package, ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", root)
    assert not broken(lint_imports(root))
    return root


@pytest.mark.parametrize(
    ("module", "line", "contract", "words"),
    [
        ("optimizer/flow.py", "import django", "optimizer-core", "optimizer.flow -> django"),
        (
            "optimizer/instance.py",
            "from symbiosis import numbers",
            "optimizer-core",
            "optimizer.instance -> symbiosis.numbers",
        ),
        (
            "optimizer/orchestrate.py",
            "from optimizer import models",
            "optimizer-core",
            "optimizer.orchestrate -> optimizer.models",
        ),
        (
            "symbiosis/impact.py",
            "from symbiosis import models",
            "kernel",
            "symbiosis.impact -> symbiosis.models",
        ),
        (
            "optimizer/selectors.py",
            "from marketplace import selectors",
            {"marketplace-optimizer", "layers"},
            "optimizer.selectors -> marketplace.selectors",
        ),
        (
            "marketplace/views.py",
            "from optimizer import selectors",
            {"marketplace-optimizer", "layers"},
            "marketplace.views -> optimizer.selectors",
        ),
        (
            "symbiosis/services.py",
            "from dashboard import selectors",
            # and through the dashboard, which reads both, optimizer reaches marketplace
            {"marketplace-optimizer", "layers"},
            "symbiosis.services -> dashboard.selectors",
        ),
        (
            "marketplace/models.py",
            "from dashboard import models",
            "layers",
            "marketplace.models -> dashboard.models",
        ),
    ],
    ids=[
        "core-imports-django",
        "core-imports-a-module-beside-the-kernel",
        "core-imports-an-app-module",
        "kernel-reaches-django",
        "optimizer-imports-marketplace",
        "marketplace-imports-optimizer",
        "core-imports-the-dashboard",
        "marketplace-imports-the-dashboard",
    ],
)
def test_a_forbidden_import_breaks_its_contract(copy_of_the_code, module, line, contract, words):
    path = copy_of_the_code / module
    before = path.read_text(encoding="utf-8")
    path.write_text(before + f"\n{line}  # noqa\n", encoding="utf-8")
    try:
        result = lint_imports(copy_of_the_code)
    finally:
        path.write_text(before, encoding="utf-8")
    assert result.returncode != 0
    expected = contract if isinstance(contract, set) else {contract}
    assert broken(result) == expected, result.stdout
    assert words in result.stdout
