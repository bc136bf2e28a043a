"""pyproject.toml's extras: none names this project, and the copies of an extra's lines agree.

An extra that named ``openapiopenai[...]`` would send pip to the index for this project's own
name, where another author's package of that name lives; so extras that need another extra's
packages repeat its lines, and these tests keep the copies the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on Python 3.10
    import tomli as tomllib

PROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))[
    "project"
]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
#: Which extras each extra repeats, as the comments in pyproject.toml say.
REPEATS = {
    "lint": ["webrtc"],
    "examples": ["realtime"],
    "dev": ["test", "lint", "webrtc", "codegen", "examples", "realtime"],
}


def _requirements(project: dict[str, Any]) -> list[Requirement]:
    lines = project["dependencies"] + [line for extra in EXTRAS.values() for line in extra]
    return [Requirement(line) for line in lines]


def test_no_requirement_names_this_project() -> None:
    named = [
        str(req) for req in _requirements(PROJECT) if canonicalize_name(req.name) == "openapiopenai"
    ]
    assert named == []


def test_an_extra_that_repeats_another_has_all_its_lines() -> None:
    missing = {
        (extra, part): sorted(set(EXTRAS[part]) - set(EXTRAS[extra]))
        for extra, parts in REPEATS.items()
        for part in parts
        if not set(EXTRAS[part]) <= set(EXTRAS[extra])
    }
    assert missing == {}


def _chosen(extra: str, python_version: str) -> list[Requirement]:
    """The lines of ``extra`` that pip takes on that Python."""
    environment = {"python_version": python_version}
    lines = [Requirement(line) for line in EXTRAS[extra]]
    return [req for req in lines if req.marker is None or req.marker.evaluate(environment)]


def test_every_supported_python_gets_exactly_one_aiortc_and_one_websockets_line() -> None:
    for version in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        for extra, package in (("webrtc", "aiortc"), ("realtime", "websockets")):
            assert [req.name for req in _chosen(extra, version)] == [package], (extra, version)
