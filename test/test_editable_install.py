"""After ``pip install -e .``, type checkers see the package from code outside the checkout.

setuptools' default editable install of a package at the project's top is an import hook,
which mypy and pyright cannot follow; the in-tree backend (``build_backend/``) makes it a
plain path entry to a directory holding only ``openapiopenai``. This test installs a copy of
the checkout into a fresh virtual environment (no dependencies: those come from this
interpreter's site-packages through a path entry) and type-checks a small app beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What an editable install reads, and ``codegen`` to show it stays hidden.
PROJECT = ("pyproject.toml", "setup.cfg", "README.md", "MANIFEST.in", "build_backend")
PACKAGES = ("openapiopenai", "codegen")

APP = """\
import openapiopenai

configuration = openapiopenai.Configuration(access_token="sk-x", ignore_environment=True)
reveal_type(configuration.retries)
"""


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` in ``cwd``, without a PYTHONPATH that would show the checkout itself."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def editable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``pip install -e`` of a copy of the checkout in a fresh venv: (its python, the copy)."""
    base = tmp_path_factory.mktemp("editable")
    source = base / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    source.mkdir()
    for name in PROJECT + PACKAGES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    created = run(sys.executable, "-m", "venv", "--without-pip", base / "venv", cwd=base)
    assert created.returncode == 0, created.stderr
    python = base / "venv" / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base)
    # The dependencies (pydantic, urllib3...) as this interpreter has them, without installing.
    Path(site.stdout.strip(), "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"]
    installed = run(*pip, "-e", source, cwd=base)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python, source


def test_the_install_is_a_path_entry_exposing_only_the_package(
    editable: tuple[Path, Path], tmp_path: Path
) -> None:
    python, source = editable
    (source / "openapiopenai" / "_added_later.py").write_text("ADDED = 1\n", encoding="utf-8")
    probe = (
        "import importlib.util, openapiopenai, openapiopenai._added_later\n"
        "print(openapiopenai.__file__)\n"
        "print(importlib.util.find_spec('codegen'))\n"
    )
    shown = run(python, "-c", probe, cwd=tmp_path)

    assert shown.returncode == 0, shown.stderr
    where, codegen = shown.stdout.split()
    assert Path(where).resolve() == (source / "openapiopenai" / "__init__.py").resolve()
    assert codegen == "None"  # only the package is on the path, not the checkout's top


def test_mypy_sees_the_package_from_outside_the_checkout(
    editable: tuple[Path, Path], tmp_path: Path
) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the dev extra")
    python, _ = editable
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    checked = run(
        sys.executable, "-m", "mypy", "--strict", "--python-executable", python,
        "--cache-dir", tmp_path / ".mypy_cache", "app.py", cwd=tmp_path,
    )  # fmt: skip

    assert 'Revealed type is "urllib3.util.retry.Retry"' in checked.stdout, checked.stdout
    assert "import-not-found" not in checked.stdout


def test_pyright_sees_the_package_from_outside_the_checkout(
    editable: tuple[Path, Path], tmp_path: Path
) -> None:
    pytest.importorskip("pyright", reason="pyright comes with the dev extra")
    python, _ = editable
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    checked = run(sys.executable, "-m", "pyright", "--pythonpath", python, "app.py", cwd=tmp_path)

    assert 'Type of "configuration.retries" is "Retry"' in checked.stdout, checked.stdout
    assert "reportMissingImports" not in checked.stdout
