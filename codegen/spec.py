"""Load the vendored OpenAPI files, check them against the lock file, and apply the overrides.

Everything the generator (and the mock's conformance tests) reads goes through
:func:`load_specs`, so a correction made in ``spec/overrides.yaml`` holds everywhere.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "spec"
SOURCES = SPEC_DIR / "sources.yaml"
OVERRIDES = SPEC_DIR / "overrides.yaml"


class SpecError(Exception):
    """The vendored spec, its lock file or an override is not as the generator expects."""


@dataclass(frozen=True)
class Spec:
    """One vendored OpenAPI document, overrides applied."""

    file: str
    document: dict[str, Any]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_specs() -> list[Spec]:
    """Every vendored spec in the order of ``spec/sources.yaml``, verified and corrected."""
    sources = load_yaml(SOURCES)["files"]
    overrides = load_yaml(OVERRIDES)
    documents: dict[str, dict[str, Any]] = {}
    for source in sources:
        path = SPEC_DIR / source["file"]
        digest = sha256(path)
        if digest != source["sha256"]:
            raise SpecError(
                f"{path.name} has sha256 {digest}, but spec/sources.yaml pins "
                f"{source['sha256']}: update the lock file together with the spec"
            )
        documents[source["file"]] = load_yaml(path)
    for number, override in enumerate(overrides["corrections"], 1):
        apply_override(documents, override, number)
    return [Spec(name, document) for name, document in documents.items()]


def apply_override(documents: dict[str, Any], override: dict[str, Any], number: int) -> None:
    """Apply one correction: ``set`` replaces a node, ``merge`` adds keys, ``append`` adds to a
    list, ``delete`` removes keys."""
    if not override.get("reason"):
        raise SpecError(f"override {number} has no reason")
    file, _, pointer = override["target"].partition("#")
    if file not in documents:
        raise SpecError(f"override {number}: unknown file {file!r}")
    parent, key = _resolve_parent(documents[file], pointer, number)
    if "set" in override:
        parent[key] = copy.deepcopy(override["set"])
        return
    exists = key < len(parent) if isinstance(parent, list) else key in parent
    if not exists:
        raise SpecError(f"override {number}: {override['target']} does not exist")
    node = parent[key]
    if "append" in override:
        node.append(copy.deepcopy(override["append"]))
    for name, value in (override.get("merge") or {}).items():
        node[name] = copy.deepcopy(value)
    for name in override.get("delete") or ():
        if name not in node:
            raise SpecError(f"override {number}: {override['target']} has no {name!r} to delete")
        del node[name]


def _resolve_parent(document: Any, pointer: str, number: int) -> tuple[Any, Any]:
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    if not parts:
        raise SpecError(f"override {number}: the target must name a node inside the document")
    node = document
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError):
            raise SpecError(f"override {number}: no {part!r} on the way to {pointer}") from None
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    return node, last
