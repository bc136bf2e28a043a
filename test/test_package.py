"""The package's own namespace: submodules and models on demand, cheap to import."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import openapiopenai


def _in_fresh_interpreter(code: str) -> str:
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return finished.stdout.strip()


PUBLIC_SUBMODULES = sorted(
    module.name
    for module in pkgutil.iter_modules(openapiopenai.__path__)
    if not module.name.startswith("_")
)


def test_every_public_submodule_is_an_attribute_without_an_import() -> None:
    code = (
        "import openapiopenai, types\n"
        f"for name in {PUBLIC_SUBMODULES!r}:\n"
        "    module = getattr(openapiopenai, name)\n"
        "    assert isinstance(module, types.ModuleType), name\n"
        "    assert module.__name__ == 'openapiopenai.' + name, module\n"
        "print(openapiopenai.webhooks.unwrap.__module__, openapiopenai.mock.MockServer.__name__)"
    )
    assert {"cli", "mock", "webhooks"} <= set(PUBLIC_SUBMODULES)
    assert _in_fresh_interpreter(code) == "openapiopenai.webhooks MockServer"


def test_import_loads_neither_pydantic_nor_a_submodule_it_does_not_need() -> None:
    loaded = _in_fresh_interpreter(
        "import sys, openapiopenai\n"
        "print([m in sys.modules for m in ('pydantic', 'openapiopenai.webhooks',"
        " 'openapiopenai.mock', 'openapiopenai.cli')])"
    )
    assert loaded == "[False, False, False, False]"


def test_a_missing_name_is_reported_against_the_package() -> None:
    for name in ("RealtimeApii", "webhook", "nosuch"):
        try:
            getattr(openapiopenai, name)
        except AttributeError as missing:
            assert str(missing) == f"module 'openapiopenai' has no attribute {name!r}"
            assert missing.name == name and missing.obj is openapiopenai
        else:
            raise AssertionError(f"openapiopenai.{name} exists")


def test_dir_lists_submodules_and_models() -> None:
    names = dir(openapiopenai)
    assert {"webhooks", "mock", "RealtimeApi", "RealtimeSessionCreateRequestGA"} <= set(names)
