"""setuptools' build backend, with an editable install that type checkers can follow.

setuptools installs a project whose package sits at its top (``openapiopenai/`` beside
``codegen/``, ``test/``...) in editable mode through an import hook, which mypy and pyright
cannot see. Its ``strict`` mode writes a plain ``.pth`` path entry instead, to a directory
(``build/__editable__.*``) holding only the package; there, one link to the package directory
replaces the tree of per-file links, so that a module added later is seen without reinstalling.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (every other hook as setuptools has it)

PACKAGE = "openapiopenai"


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, str | list[str]] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' editable wheel in ``strict`` mode (unless another mode is asked for)."""
    settings = dict(config_settings or {})
    if "editable-mode" not in settings and "editable_mode" not in settings:
        settings["editable_mode"] = "strict"
    wheel = _setuptools.build_editable(wheel_directory, settings, metadata_directory)
    for tree in Path("build").glob(f"__editable__.{PACKAGE}-*"):
        _link_package_directory(tree / PACKAGE, Path(PACKAGE).resolve())
    return wheel


def _link_package_directory(tree: Path, package: Path) -> None:
    """Replace the file links under ``tree`` by one link to ``package``; keep them where the
    system refuses a directory link (then a new module needs a reinstall)."""
    if tree.is_symlink() or not tree.is_dir():
        return
    link = tree.with_name(f".{PACKAGE}.link")
    link.unlink(missing_ok=True)
    try:
        link.symlink_to(package, target_is_directory=True)
    except OSError:
        return
    shutil.rmtree(tree)
    link.rename(tree)
