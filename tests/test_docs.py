"""The docs site: a short README, a nav whose pages exist, and generated-table markers the build hook knows.

Fast checks only; CI builds the site separately (``mkdocs build --strict`` in ``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")  # installed with mkdocs (the docs extra)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_MAX_LINES = 150


class _Loader(yaml.SafeLoader):
    """A YAML loader that reads mkdocs.yml's ``!!python/name:`` and ``!ENV`` tags as plain values."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_Loader.add_constructor("!ENV", lambda loader, node: None)


def load_hooks() -> ModuleType:
    """``docs/hooks.py``, imported from its path (it is not part of any package)."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages(entry: Any) -> list[str]:
    """Every page path of an mkdocs nav (nested lists and ``{title: page}`` mappings)."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, list):
        return [page for item in entry for page in nav_pages(item)]
    if isinstance(entry, dict):
        return [page for value in entry.values() for page in nav_pages(value)]
    return []


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES}"


def test_readme_keeps_the_ci_test_command() -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- ci:test-command -->\n```bash\n(.+?)\n```\n<!-- /ci:test-command -->", text, re.DOTALL)
    assert block is not None, "README.md lost its <!-- ci:test-command --> block (.ci/run extracts it)"
    assert "pytest" in block.group(1) and "docs" in block.group(1)


def test_every_page_quotes_the_readmes_commands_as_they_are() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = {line for line in readme.splitlines() if line.startswith("pip install -c constraints.txt")}
    assert len(commands) == 2, "the README's quick start has two commands"
    for page in DOCS.rglob("*.md"):
        for line in page.read_text().splitlines():
            if line.startswith("pip install -c constraints.txt") and ("pytest" in line or "ppo_soo.py" in line):
                assert line in commands, f"{page.relative_to(ROOT)} quotes a command the README lacks: {line}"


def test_every_nav_page_exists() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)
    pages = nav_pages(config["nav"])
    assert pages, "mkdocs.yml has no nav"
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"pages in mkdocs.yml's nav that do not exist in docs/: {missing}"
    assert len(set(pages)) == len(pages), "a page appears twice in the nav"


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)
    pages = set(nav_pages(config["nav"]))
    orphans = sorted(
        str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md") if str(path.relative_to(DOCS)) not in pages
    )
    assert not orphans, f"docs pages missing from mkdocs.yml's nav: {orphans}"


@pytest.mark.parametrize("page", sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")))
def test_generated_markers_are_known(page: str) -> None:
    hooks = load_hooks()
    text = (DOCS / page).read_text()
    for line in re.findall(r"^<!-- generated:.*$", text, re.MULTILINE):
        match = hooks.MARKER.fullmatch(line)
        assert match is not None, f"{page}: malformed marker {line!r} (expected <!-- generated:NAME[:ARG] -->)"
        assert match.group(1) in hooks.GENERATORS, f"{page}: unknown marker {line!r}; known: {sorted(hooks.GENERATORS)}"


def test_marker_arguments_are_valid() -> None:
    """Markers with an argument name a world, an agent or a command the generator accepts (no project import)."""
    hooks = load_hooks()
    allowed = {"settings": hooks.WORLDS, "attributes": hooks.WORLDS, "layout": ("blue", "red")}
    allowed["cli"] = ("experiment", "sweep")
    for path in DOCS.rglob("*.md"):
        for name, arg in hooks.MARKER.findall(path.read_text()):
            if name in allowed:
                assert arg in allowed[name], (
                    f"{path.name}: <!-- generated:{name}:{arg} --> needs one of {allowed[name]}"
                )
            else:
                assert not arg, f"{path.name}: <!-- generated:{name} --> takes no argument, got {arg!r}"


def test_unknown_marker_fails_the_build() -> None:
    hooks = load_hooks()
    with pytest.raises(ValueError, match="unknown generated marker"):
        hooks.expand("text\n<!-- generated:no-such-table -->\n")


# --- Docs that cannot break silently: snippet includes and the Python blocks -------------------------------------

SNIPPET_LINE = re.compile(r'^--8<-- "([^"\n:]+)(?::[\w-]+)?"$')
"""The one include form the docs use: ``--8<-- "path/from/the/repository/root"`` alone on its line, or
``--8<-- "path:section"`` for the lines between a file's ``--8<-- [start:section]`` and ``[end:section]`` markers
(the whole file is then what the code-block test runs)."""
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
TRAINS = re.compile(r"\.learn\(|train_alternating\(")
"""A block that trains runs with every ``learn`` cut to one rollout; the others run as written."""


def doc_texts() -> list[Path]:
    """Every Markdown file the site or the repository's front page shows."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def markdown_renderer() -> Any:
    """Python-Markdown with mkdocs.yml's extensions and settings (snippets read from the repository root)."""
    markdown = pytest.importorskip("markdown")
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)
    extensions, configs = [], {}
    for entry in config["markdown_extensions"]:
        name, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        extensions.append(name)
        if name == "pymdownx.snippets":
            settings = {**(settings or {}), "base_path": [str(ROOT)]}
        if settings:
            configs[name] = settings
    return markdown.Markdown(extensions=extensions, extension_configs=configs)


def test_snippets_are_checked_by_the_strict_build() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)
    snippets = [
        e["pymdownx.snippets"]
        for e in config["markdown_extensions"]
        if isinstance(e, dict) and "pymdownx.snippets" in e
    ]
    assert snippets and snippets[0].get("check_paths") is True, "mkdocs.yml: pymdownx.snippets needs check_paths: true"


@pytest.mark.parametrize("path", doc_texts(), ids=doc_id)
def test_every_include_marker_is_well_formed_and_names_a_file(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if "--8" not in line and "8<" not in line:
            continue
        match = SNIPPET_LINE.fullmatch(line.strip())
        assert match is not None, f'{doc_id(path)}:{number}: malformed include {line!r}; write --8<-- "path"'
        assert (ROOT / match.group(1)).is_file(), f"{doc_id(path)}:{number}: includes a missing file {match.group(1)}"


@pytest.mark.parametrize("path", doc_texts(), ids=doc_id)
def test_the_rendered_page_has_no_unresolved_include(path: Path) -> None:
    """The page's text as a reader sees it (tags stripped: highlighted code is split into spans) shows no include."""
    import html

    text = html.unescape(re.sub(r"<[^>]+>", "", markdown_renderer().convert(path.read_text())))
    assert "--8" not in text, f"{doc_id(path)} renders a literal '--8': an include that did not resolve"
    assert "8<-" not in text, f"{doc_id(path)} renders an unresolved include"


def python_blocks() -> list[tuple[str, str]]:
    """``(name, code)`` of every ```python block of the docs and the README, includes resolved."""
    blocks = []
    for path in doc_texts():
        for index, match in enumerate(PYTHON_BLOCK.finditer(path.read_text())):
            lines = []
            for line in match.group(1).splitlines():
                include = SNIPPET_LINE.fullmatch(line.strip())
                if include and (ROOT / include.group(1)).is_file():  # a missing file fails the include test
                    line = (ROOT / include.group(1)).read_text()
                lines.append(line)
            blocks.append((f"{doc_id(path)}#python{index}", "\n".join(lines)))
    return blocks


@pytest.fixture
def one_rollout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PPO ``learn`` of a docs block collects one rollout and updates once, whatever budget it asks for, and
    alternating training runs one phase."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    learn = OnPolicyAlgorithm.learn

    def short(self: Any, total_timesteps: int, *args: Any, **kwargs: Any) -> Any:
        return learn(self, 1, *args, **kwargs)

    monkeypatch.setattr(OnPolicyAlgorithm, "learn", short)
    import agents.learned_red

    alternate = agents.learned_red.train_alternating

    def one_phase(*args: Any, **kwargs: Any) -> None:
        alternate(*args, **{**kwargs, "phases": 1})

    monkeypatch.setattr(agents.learned_red, "train_alternating", one_phase)


def test_the_docs_have_python_blocks() -> None:
    names = [name for name, _ in python_blocks()]
    assert any(name.startswith("README.md") for name in names) and len(names) >= 4, names


@pytest.mark.parametrize(("name", "code"), python_blocks(), ids=[name for name, _ in python_blocks()])
def test_every_python_block_runs(
    name: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_rollout: None
) -> None:
    """Every block compiles and its imports work; it then runs as written in a scratch directory (a block that
    trains, with one rollout per ``learn``). An included script runs as a module: its ``main()`` is not called."""
    import ast

    tree = ast.parse(compile(code, name, "exec", flags=ast.PyCF_ONLY_AST))
    imports = ast.Module(
        body=[node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))], type_ignores=[]
    )
    monkeypatch.syspath_prepend(str(ROOT / "docs" / "examples"))  # an included example imports its sibling modules
    exec(compile(imports, name, "exec"), {"__name__": "docs_block"})
    monkeypatch.chdir(tmp_path)
    exec(compile(code, name, "exec"), {"__name__": "docs_block"})


# --- Commands that paste ------------------------------------------------------------------------------------------

COMMAND_START = re.compile(r"python (train/ppo_soo\.py|train/sweep\.py)\b")


def doc_commands() -> list[tuple[str, str]]:
    """``(where, command)`` of every ``python train/ppo_soo.py`` / ``train/sweep.py`` command the docs and the
    README quote, in code spans (which may wrap) and in code blocks (with ``\\`` continuations)."""
    found = []
    for path in doc_texts():
        text = path.read_text()
        blocks = [m.group(1).replace("\\\n", " ") for m in re.finditer(r"^```\w*\n(.*?)^```$", text, re.M | re.S)]
        lines = [line.split("  #")[0] for block in blocks for line in block.splitlines()]
        prose = re.sub(r"^```\w*\n.*?^```$", "", text, flags=re.M | re.S)
        spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
        for candidate in (*lines, *spans):
            match = COMMAND_START.search(candidate)
            if match:
                found.append((doc_id(path), candidate[match.start() :].strip()))
    return found


def test_the_docs_quote_commands() -> None:
    assert len(doc_commands()) >= 20


@pytest.mark.parametrize(("where", "command"), doc_commands(), ids=[f"{w}:{c[:60]}" for w, c in doc_commands()])
def test_every_quoted_command_pastes_and_parses(where: str, command: str) -> None:
    """A quoted command holds no elided list (``0 1 ... 49`` fails in a shell) and its flags parse (nothing runs)."""
    assert "..." not in command, f"{where}: {command!r} elides part of itself; write it out (or $(seq 0 49))"
    if "<" in command or "--config" in command:
        return  # a placeholder to fill in, or a file of the user's
    args = re.sub(r"\$\(seq (\d+) (\d+)\)", lambda m: " ".join(map(str, range(int(m[1]), int(m[2]) + 1))), command)
    script, *argv = shlex.split(args)[1:]
    if script == "train/ppo_soo.py":
        from soo_rl.cli.experiment import parse_config

        parse_config(argv)
    else:
        from soo_rl.cli.settings import parse_settings
        from soo_rl.cli.sweep import USAGE
        from soo_rl.experiment.sweep import SWEEP_RECIPES, SweepConfig, sweep_from_mapping

        parse_settings(SweepConfig, argv, USAGE, sweep_from_mapping, SWEEP_RECIPES)


# --- Texts a reader can place ----------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")
UNPLACEABLE = re.compile(r"\bissues? \d+|\bissue's\b|\bthis (?:morning|session)\b|\btoday's\b|\bSPEC\b")
"""Words that point to the project's own history or files a reader does not have."""


@pytest.mark.parametrize("path", doc_texts(), ids=doc_id)
def test_no_link_leaves_the_repository(path: Path) -> None:
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:|#", target):
            continue  # a web address or an anchor on the page
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc_id(path)} links outside the repository: {target}"
        generated = resolved.is_relative_to(DOCS / "gifs")  # written by docs/hooks.py at build time
        assert generated or resolved.exists(), f"{doc_id(path)} links to a missing file: {target}"


@pytest.mark.parametrize("path", doc_texts(), ids=doc_id)
def test_no_issue_numbers_or_diary_words(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = UNPLACEABLE.search(line)
        assert match is None, f"{doc_id(path)}:{number}: {match.group(0)!r} means nothing to a reader: {line.strip()}"
