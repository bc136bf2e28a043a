"""The documentation stays true: examples run, model pages match the models, links resolve.

Every ```python block of README.md and docs/*.md runs as written, as a script of its own,
against the loopback mock, with only the environment a reader would have set up. A block
that is deliberately not runnable is preceded by ``<!-- not-run: reason -->``.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import openapiopenai
import openapiopenai.models
from openapiopenai.mock import DEMO_CALL_ID, MockServer
from test.conftest import standalone_mock

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOC_FILES = [README, *sorted(DOCS.glob("*.md"))]

#: The line CI runs; the README must show it exactly.
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest"
)
#: The first command: its own virtual environment, so it works where the system Python refuses
#: ``pip install`` (externally managed); .ci/run runs it on a clean copy.
SETUP_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install '.[realtime]' && .venv/bin/openapiopenai"
    " client-secrets create --mock"
)

API_KEY = "sk-docs-0123456789abcdefghijklmnopqrstuvwxyz"
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>[^>]*?)\s*-->\s*\Z")
#: ``<!-- mock: script_tool_call("name", {...}) -->`` before a block: what the example needs the
#: mock's WebSocket side to do (``mock.realtime.<method>(<arguments>)``), told it just before;
#: ``<!-- mock: fresh() -->``: the example acts on the mock's waiting call, so it gets a mock
#: of its own. Either way the example runs against a mock started as the README starts it.
MOCK_SETUP = re.compile(r"<!--\s*mock:\s*(?P<method>\w+)\((?P<arguments>[^\n]*?)\)\s*-->\s*\Z")
#: A ```sh block that starts the mock with options, right before an example: the example runs
#: against a mock started exactly so (``--tool-call NAME ARGUMENTS``, ``--reply TEXT``).
MOCK_COMMAND = re.compile(r"\A(?:\.venv/bin/)?python3? -m openapiopenai\.mock(?P<options> .+)?\n\Z")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^```\s*$", re.S | re.M)
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\[\]]*\])*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
EPHEMERAL_KEY = re.compile(r"ek_[A-Za-z0-9_-]{16,}")
BASE_MODELS = {"OpenApiModel", "RequestModel", "ResponseModel"}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def python_blocks() -> Iterator[tuple[Path, int, str, str | None]]:
    """Every ```python block: (file, index within file, code, not-run reason or None)."""
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        index = 0
        for fence in FENCE.finditer(text):
            if fence.group("lang") != "python":
                continue
            marker = NOT_RUN.search(text[: fence.start()])
            yield path, index, fence.group("code"), marker.group("reason") if marker else None
            index += 1


def mock_setup(path: Path, index: int) -> tuple[str, tuple[Any, ...]] | None:
    """The ``<!-- mock: ... -->`` call written just before block ``index`` of ``path``."""
    text = path.read_text(encoding="utf-8")
    fences = [f for f in FENCE.finditer(text) if f.group("lang") == "python"]
    marker = MOCK_SETUP.search(text[: fences[index].start()])
    if marker is None:
        return None
    written = marker.group("arguments")
    arguments = ast.literal_eval(f"({written},)") if written.strip() else ()
    return marker.group("method"), arguments


def mock_options(path: Path, index: int) -> list[str] | None:
    """Options of the ``python -m openapiopenai.mock ...`` block right before block ``index``."""
    text = path.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    pythons = [i for i, f in enumerate(fences) if f.group("lang") == "python"]
    before = pythons[index] - 1
    if before < 0 or fences[before].group("lang") != "sh":
        return None
    command = MOCK_COMMAND.match(fences[before].group("code"))
    return shlex.split(command.group("options") or "") if command else None


BLOCKS = list(python_blocks())


def exported_models() -> dict[str, type[BaseModel]]:
    """Every concrete pydantic model exported from ``openapiopenai.models``."""
    found = {}
    for name in openapiopenai.models.__all__:
        value = getattr(openapiopenai.models, name)
        if isinstance(value, type) and issubclass(value, BaseModel) and name not in BASE_MODELS:
            found[name] = value
    return found


MODELS = exported_models()


def wire_names(model: type[BaseModel]) -> set[str]:
    """The JSON names of a model's fields (alias if it has one)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def documented_properties(page: Path) -> list[str]:
    """Property names in the table under ``## Properties`` of a model page."""
    text = page.read_text(encoding="utf-8")
    section = re.search(r"^## Properties\s*\n(?P<body>.*?)(?=^#|\Z)", text, re.S | re.M)
    assert section, f"{_rel(page)} has no '## Properties' section"
    names = []
    for line in section.group("body").splitlines():
        first = line.strip().strip("|").split("|")[0].strip()
        cell = re.fullmatch(r"\*\*`?(?P<name>[A-Za-z_][A-Za-z0-9_]*)`?\*\*", first)
        if cell:
            names.append(cell.group("name"))
    return names


def slugs(path: Path) -> set[str]:
    """The anchors a Markdown renderer makes from the headings of ``path`` (GitHub's rules)."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        plain = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
        candidate, n = slug, 1
        while candidate in anchors:
            candidate, n = f"{slug}-{n}", n + 1
        anchors.add(candidate)
    anchors.update(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    return anchors


def relative_links() -> Iterator[tuple[Path, str]]:
    for path in DOC_FILES:
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        for link in LINK.finditer(text):
            target = link.group("target")
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):
                yield path, target


@pytest.fixture(scope="module")
def docs_mock() -> Iterator[str]:
    """``python -m openapiopenai.mock`` as the README starts it; yields the URL it prints.

    Nothing is set up behind the reader's back: the examples find only what that command
    offers. One mock serves all examples; each example is its own process.
    """
    with standalone_mock() as url:
        yield url


@pytest.fixture
def own_mock() -> Iterator[MockServer]:
    """A mock of the example's own, as ``python -m openapiopenai.mock`` starts it, for an
    example whose ``<!-- mock: ... -->`` marker scripts what the model will do."""
    server = MockServer()
    server.incoming_call(DEMO_CALL_ID)
    server.start()
    yield server
    server.stop()


def example_environment(base_url: str) -> dict[str, str]:
    """What a reader who followed the README has set: a key, and the URL of the mock."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BEARER_"))}
    environ.update(OPENAI_API_KEY=API_KEY, BEARER_TOKEN=API_KEY, OPENAI_BASE_URL=base_url)
    environ.pop("PYTHONPATH", None)
    return environ


@pytest.mark.parametrize(
    ("path", "index", "code", "not_run"),
    BLOCKS,
    ids=[f"{_rel(path)}#{index}" for path, index, _, _ in BLOCKS],
)
def test_python_example_runs(
    path: Path,
    index: int,
    code: str,
    not_run: str | None,
    docs_mock: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    if not_run is not None:
        assert not_run, f"{_rel(path)} block {index}: a not-run marker needs a reason"
        compile(code, f"{_rel(path)}#{index}", "exec")  # still valid Python
        return
    base_url = docs_mock
    setup = mock_setup(path, index)
    if setup is not None:
        method, arguments = setup
        mock: MockServer = request.getfixturevalue("own_mock")
        if method != "fresh":
            getattr(mock.realtime, method)(*arguments)
        base_url = mock.url
    options = mock_options(path, index)
    if options is not None:  # the page starts the mock with these options: so does the test
        base_url = request.getfixturevalue("page_mock")(options)
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=example_environment(base_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, f"{_rel(path)} block {index} failed:\n{output}"
    assert API_KEY not in output, "an example printed the API key"
    assert not EPHEMERAL_KEY.search(output), "an example printed an ephemeral key"
    for scripted in re.findall(r"--tool-call (\w+)", " ".join(options or ())):
        # The mock's answer after a tool's output quotes it: the example did call the tool.
        assert f"The {scripted} tool returned:" in output, output


@pytest.fixture
def page_mock() -> Iterator[Callable[[list[str]], str]]:
    """Starts ``python -m openapiopenai.mock`` with a page's options; stops it after the test."""
    with ExitStack() as running:
        yield lambda options: running.enter_context(standalone_mock(*options))


def test_few_blocks_are_not_run() -> None:
    skipped = [f"{_rel(p)}#{i}" for p, i, _, reason in BLOCKS if reason is not None]
    assert len(BLOCKS) >= len(MODELS) + 3
    assert len(skipped) <= 3, f"too many blocks marked not-run: {skipped}"


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:40])
    assert SETUP_COMMAND in first_screen
    assert TEST_COMMAND in first_screen


def test_readme_first_command_brings_what_the_quick_start_shows() -> None:
    """The quick start advertises ``realtime chat``: its install brings the extra it needs."""
    quick_start = README.read_text(encoding="utf-8").split("## Contents", 1)[0]
    installed = re.search(r"\.venv/bin/pip install '\.\[(?P<extras>[\w,]+)\]'", SETUP_COMMAND)
    assert "openapiopenai realtime chat" in quick_start
    assert installed is not None and "realtime" in installed.group("extras").split(",")


def test_ci_runs_the_readme_first_command() -> None:
    """.ci/run's ``readme`` stage finds the first command by the text it starts with (the
    first README line holding it, as ``grep -m1 -F``): it still finds that command."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    found = re.search(r'command="\$\(readme_line "(?P<prefix>[^"]+)"\)"', ci)
    assert found is not None, "no readme_line for the README's first command in .ci/run"
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    first = next((line for line in readme if found.group("prefix") in line), None)
    assert first == SETUP_COMMAND


@pytest.mark.parametrize("command", [SETUP_COMMAND, TEST_COMMAND])
def test_readme_commands_install_only_into_their_own_venv(command: str) -> None:
    # No bare pip or python: on an externally managed system Python those refuse to install.
    steps = [step.split() for step in command.split("&&")]
    assert steps[0] == ["python3", "-m", "venv", ".venv"]
    assert all(step[0].startswith(".venv/bin/") for step in steps[1:])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_page_documents_exactly_its_fields(name: str) -> None:
    page = DOCS / f"{name}.md"
    assert page.is_file(), f"model {name} has no page {_rel(page)}"
    documented = documented_properties(page)
    assert len(documented) == len(set(documented)), f"{name}: a property is listed twice"
    expected = wire_names(MODELS[name])
    missing = sorted(expected - set(documented))
    unknown = sorted(set(documented) - expected)
    assert not missing, f"{_rel(page)} does not document {missing}"
    assert not unknown, f"{_rel(page)} documents fields the model does not have: {unknown}"


def test_every_model_page_is_a_model() -> None:
    pages = {p.stem for p in DOCS.glob("*.md") if "## Properties" in p.read_text("utf-8")}
    assert pages == set(MODELS)


def test_readme_links_every_docs_page() -> None:
    linked = {
        (ROOT / target.split("#")[0]).resolve()
        for path, target in relative_links()
        if path == README and target.split("#")[0]
    }
    unlinked = [_rel(p) for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not unlinked, f"README.md does not link {unlinked}"


@pytest.mark.parametrize(
    ("path", "target"),
    list(relative_links()),
    ids=[f"{_rel(path)}->{target}" for path, target in relative_links()],
)
def test_relative_link_resolves(path: Path, target: str) -> None:
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    assert destination.exists(), f"{_rel(path)} links to missing {target}"
    if anchor and destination.suffix == ".md":
        assert anchor in slugs(destination), f"{_rel(path)}: no heading for #{anchor}"


def readme_section(title: str) -> str:
    """The text of the README section headed ``## title``, up to the next ``## `` heading."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(title)}\s*\n(?P<body>.*?)(?=^## |\Z)", text, re.S | re.M)
    assert found, f"README.md has no '## {title}' section"
    return found.group("body")


def test_readme_contents_lists_every_section() -> None:
    """The Contents links each ``##`` section and the ``###`` ones a newcomer looks for."""
    contents = set(re.findall(r"\]\(#([\w-]+)\)", readme_section("Contents")))
    text = FENCE.sub("", README.read_text(encoding="utf-8"))
    wanted = {"Function tools from Python functions", "Chatting from the terminal"}
    wanted |= {"The mock's WebSocket side"}
    headings = [h for h in re.findall(r"^## (.+)$", text, re.M) if h != "Contents"]
    for heading in [*headings, *wanted]:
        plain = re.sub(r"[`*]", "", heading).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
        assert slug in contents, f"README's Contents do not link '{heading}'"


@pytest.mark.parametrize("key", [API_KEY, "sk-..."], ids=["real-key", "readme-placeholder"])
def test_readme_masked_key_comment_says_what_is_printed(key: str) -> None:
    """The comment after ``print(configuration)`` shows what that prints, for the README's
    placeholder ``sk-...`` as for a real key."""
    comment = re.search(r"^print\(configuration\)  # (?P<said>.+)$", README.read_text(), re.M)
    assert comment is not None
    printed = re.search(r"access_token=(\S+?),", str(openapiopenai.Configuration(access_token=key)))
    assert printed is not None
    masked = printed.group(1)
    assert masked in comment.group("said").replace("access_token=", "")


def test_readme_configuration_table_lists_every_parameter() -> None:
    table = readme_section("Configuration")
    documented = set(re.findall(r"^`(\w+)` \|", table, re.M))
    parameters = set(inspect.signature(openapiopenai.Configuration).parameters)
    assert documented == parameters


def test_readme_errors_section_names_every_exception() -> None:
    section = readme_section("Errors")
    exported = [
        name
        for name in openapiopenai.__all__
        if isinstance(getattr(openapiopenai, name), type)
        and issubclass(getattr(openapiopenai, name), Exception)
    ]
    missing = [name for name in exported if not re.search(rf"\b{name}\b", section)]
    assert not missing, f"README 'Errors' does not mention {missing}"


def endpoint_rows(table: str) -> dict[str, str]:
    """``method -> "POST /path"`` of each row of a Markdown endpoints table."""
    rows = re.findall(r"\[\*\*(\w+)\*\*\]\([^)]*\) \| \*\*(\w+)\*\* (\S+) \|", table)
    return {method: f"{verb} {path}" for method, verb, path in rows}


def test_readme_endpoints_table_lists_every_operation() -> None:
    operations = {
        name
        for name in vars(openapiopenai.RealtimeApi)
        if not name.startswith("_") and not name.endswith(("_with_http_info", "_preload_content"))
    }
    documented = endpoint_rows((DOCS / "RealtimeApi.md").read_text(encoding="utf-8"))
    listed = endpoint_rows(readme_section("Documentation for API endpoints"))
    websocket = {"connect", "connect_translation"}
    assert len(operations - websocket) == 9 and set(documented) == operations
    assert listed == documented


def test_package_summaries_describe_the_ga_surface() -> None:
    docstring = openapiopenai.__doc__ or ""
    description = re.search(r'^description = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert description is not None
    for summary in (docstring, description.group(1)):
        assert "client_secrets" in summary and "calls" in summary, summary
    assert "create_realtime_client_secret(" in docstring


def test_token_broker_readme_states_the_client_secret_lifetime() -> None:
    from openapiopenai.mock import DEFAULT_CLIENT_SECRET_LIFETIME

    text = (ROOT / "examples" / "token_broker" / "README.md").read_text(encoding="utf-8")
    row = re.search(r"^\| `key_lifetime_seconds` .*$", text, re.M)
    assert row is not None
    assert f"OpenAI's default, {DEFAULT_CLIENT_SECRET_LIFETIME} s" in row.group(0)


def test_examples_type_check_with_plain_mypy(tmp_path: Path) -> None:
    """Every example of README.md and docs/, the not-run ones too, passes mypy's defaults."""
    pytest.importorskip("mypy", reason="mypy comes with the dev extra")
    files = []
    for path, index, code, _ in BLOCKS:
        example = tmp_path / f"{path.stem.lower()}_example_{index}.py"
        example.write_text(code, encoding="utf-8")
        files.append(example.name)
    defaults = tmp_path / "mypy.ini"
    defaults.write_text("[mypy]\n", encoding="utf-8")  # plain mypy: none of the project's flags
    environ = {**os.environ, "MYPYPATH": str(ROOT)}  # the package as this checkout has it
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(defaults), *files],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"Success: no issues found in {len(files)} source files" in checked.stdout


def test_examples_import_only_what_they_use_and_configure_once(tmp_path: Path) -> None:
    """No example imports a name it does not use or builds a ``Configuration`` it drops."""
    pytest.importorskip("ruff", reason="ruff comes with the dev extra")
    files = []
    for path, index, code, _ in BLOCKS:
        assert len(re.findall(r"^configuration = ", code, re.M)) <= 1, f"{_rel(path)}#{index}"
        example = tmp_path / f"{path.stem.lower()}_example_{index}.py"
        example.write_text(code, encoding="utf-8")
        files.append(example.name)
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F401", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_readme_examples_use_the_ga_endpoints() -> None:
    """The beta endpoint is switched off for new connections: no README example teaches it."""
    beta = [
        i for path, i, code, _ in BLOCKS if path == README and "create_realtime_session" in code
    ]
    assert not beta, f"README.md examples {beta} call the beta create_realtime_session"


def test_package_docstring_example_runs(docs_mock: str, tmp_path: Path) -> None:
    """``help(openapiopenai)`` shows an example; it runs as written, like the pages' ones."""
    docstring = openapiopenai.__doc__ or ""
    indented = docstring.split("::\n", 1)[1]
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(indented), encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=example_environment(docs_mock),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "value='ek_***'" in finished.stdout
    assert not EPHEMERAL_KEY.search(finished.stdout)
