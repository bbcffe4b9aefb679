"""The docs site: a short README, a nav whose pages exist, and generated-table markers the build hook knows.

Fast checks only; CI builds the site separately (``mkdocs build --strict`` in ``.ci/run``).
"""

from __future__ import annotations

import importlib.util
import re
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
