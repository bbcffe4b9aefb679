"""MkDocs hooks: tables that restate the code are generated from it at build time, so they cannot drift.

A page asks for a table with a marker line ``<!-- generated:NAME -->`` or ``<!-- generated:NAME:ARG -->``;
``on_page_markdown`` replaces it by ``GENERATORS[NAME](ARG)``. An unknown marker fails the build. ``on_files``
adds one short episode GIF per training world (scripted agents, ``envs.deception.animation``) as ``gifs/<world>.gif``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parents[1])
"""The checkout these docs belong to."""


def use_this_checkout() -> None:
    """Import the project from this checkout, not from another copy installed in the environment (mkdocs resets
    ``sys.path`` after loading the hooks, so every hook calls this before it imports the project)."""
    if sys.path[:1] != [ROOT]:
        sys.path.insert(0, ROOT)


MARKER = re.compile(r"^<!-- generated:([a-z-]+)(?::([\w-]+))? -->$", re.MULTILINE)
WORLDS: tuple[str, ...] = ("paper", "paper_learnable", "default", "contingent", "keep_clear", "awareness")
"""The training worlds (``envs.deception.config.PRESETS`` without the held-out variants), in the order of the docs."""
GIF_POLICIES: dict[str, str] = {
    "paper": "deceptive",
    "paper_learnable": "deceptive",
    "default": "deceptive",
    "contingent": "contingent",
}
"""Scripted blue of each world's GIF (``awareness``: the honest blue, which red follows onto the goal)."""


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of a class (``x: int = 1`` followed by ``\"\"\"...\"\"\"``)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body.body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)):
            continue
        if isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def cell(value: Any) -> str:
    """One markdown table cell: RST double backticks become code spans, pipes are escaped."""
    if isinstance(value, (tuple, list)):
        value = " ".join(str(v) for v in value) if value else "(none)"
    return str(value).replace("``", "`").replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def presets(_: str | None) -> str:
    """The training worlds and how each differs from the paper's settings (``DeceptionConfig``'s defaults)."""
    from envs.deception.config import PRESETS, make_config

    rows = []
    for name in WORLDS:
        config = make_config(name)
        changes = ", ".join(f"`{key}={value}`" for key, value in PRESETS[name].items()) or "(the defaults)"
        rows.append([f"`{name}`", config.blue_radius, config.red_radius, changes])
    return table(["preset", "blue radius", "red radius", "settings changed from `DeceptionConfig`'s defaults"], rows)


def settings(world: str | None) -> str:
    """Every ``DeceptionConfig`` field in one world; the ones the preset changes are in bold."""
    from envs.deception.config import PRESETS, DeceptionConfig, make_config

    assert world is not None, "settings needs a world: <!-- generated:settings:NAME -->"
    config, docs = make_config(world), attribute_docs(DeceptionConfig)
    rows = []
    for f in dataclasses.fields(DeceptionConfig):
        value = f"`{getattr(config, f.name)!r}`"
        rows.append([f"`{f.name}`", f"**{value}**" if f.name in PRESETS[world] else value, docs.get(f.name, "")])
    return table(["setting", "value", "meaning"], rows)


def attributes(world: str | None) -> str:
    """PettingZoo-style attribute table of one world, read from a live environment."""
    from envs.deception import deception_v0

    assert world is not None, "attributes needs a world: <!-- generated:attributes:NAME -->"
    env = deception_v0.parallel_env(preset=world)
    discrete = deception_v0.parallel_env(preset=world, continuous_actions=False)
    agents = env.possible_agents
    shapes = ", ".join(f"`{a}`: {env.observation_space(a).shape}" for a in agents)
    rows: list[tuple[str, Any]] = [
        ("Import", f'`from envs.deception import deception_v0; deception_v0.parallel_env(preset="{world}")`'),
        ("Actions", "continuous (default) or discrete (`continuous_actions=False`)"),
        ("Parallel API", "yes (AEC through `deception_v0.env()`); SB3 `VecEnv` through `deception_v0.make_vec_env`"),
        ("Agents", f"`agents = {agents}`"),
        ("Agents count", len(agents)),
        ("Action shape", f"{env.action_space(agents[0]).shape} continuous, `{discrete.action_space(agents[0])}`"),
        ("Action values", "`[-1, 1]` per component (force = `sensitivity` x action)"),
        ("Observation shape", shapes),
        ("Observation values", "`[-2, 2]` for relative positions and velocities, `[-1, 1]` for positions, 0/1 bits"),
        ("Episode length", f"{env.config.max_cycles} steps, ended as a truncation"),
    ]
    return table(["attribute", "value"], [[f"**{k}**", v] for k, v in rows])


def layout(agent: str | None) -> str:
    """The observation slots of ``blue`` or ``red`` (2 landmarks), with indices and bounds of the live env."""
    from gymnasium.spaces import Box

    from envs.deception import deception_v0
    from envs.deception.layout import BLUE, RED, layout_for

    assert agent in ("blue", "red"), "layout needs an agent: <!-- generated:layout:blue -->"
    name = BLUE if agent == "blue" else RED
    space = deception_v0.parallel_env(preset="default").observation_space(name)
    assert isinstance(space, Box)
    obs_layout = layout_for(name, 2)
    rows = []
    for slot, width in obs_layout.fields:
        where = obs_layout.slice(slot)
        low, high = float(space.low[where].min()), float(space.high[where].max())
        indices = str(where.start) if width == 1 else f"{where.start}-{where.stop - 1}"
        rows.append([f"`{slot}`", width, indices, f"[{low:g}, {high:g}]"])
    return table(["slot", "width", "indices (2 landmarks)", "bounds"], rows)


def variants(_: str | None) -> str:
    """The held-out evaluation variants and their changes (``envs.deception.variants.VARIANTS``)."""
    from envs.deception.variants import VARIANTS

    rows = [[f"`{n}`", ", ".join(f"`{k}={v!r}`" for k, v in c.items())] for n, c in VARIANTS.items()]
    return table(["variant", "change applied to the training world"], rows)


def conditions(_: str | None) -> str:
    """The table of conditions (``soo_rl.experiment.conditions.CONDITIONS``)."""
    from soo_rl.experiment.conditions import CONDITIONS

    rows = []
    for c in CONDITIONS.values():
        overrides = [f"`{k}={v!r}`" for k, v in c.finetune_overrides.items()]
        overrides += [f"`{k}` = `finetune.{v}`" for k, v in c.finetune_from.items()]
        weight = f"`finetune.{c.coef_setting}`" if c.pair_mode else ""
        started = "deceptive baseline + KL anchor" if c.fine_tuned else "scratch"
        default = "yes" if not c.fine_tuned or c.by_default else "when named"
        row = [f"`{c.name}`", c.summary, c.reward_mode, started, c.pair_mode or "", weight, ", ".join(overrides)]
        rows.append([*row, default])
    headers = ["condition", "what it is", "reward", "starts from", "pair loss", "weight", "overrides", "by default"]
    return table(headers, rows)


def controls(_: str | None) -> str:
    """What each control condition tests (``Condition.controls_for``)."""
    from soo_rl.experiment.conditions import CONDITIONS

    rows = [[f"`{c.name}`", c.controls_for] for c in CONDITIONS.values() if c.controls_for]
    return table(["control", "the explanation of SOO's effect it tests"], rows)


def metrics(_: str | None) -> str:
    """Metric and outcome names as they appear in ``results.json``, each linked to its definition on the page (an
    anchor ``#trap-rate`` per metric: a metric without a definition fails ``mkdocs build --strict``)."""
    from soo_rl.measurement import evaluation
    from soo_rl.measurement import metrics as module

    rows = []
    for name in evaluation.METRICS:
        source = f"`metrics.{name}`" if hasattr(module, name) else "`evaluation.evaluate`"
        rows.append([f"`{name}`", source, f"[{name.replace('_', ' ')}](#{name.replace('_', '-')})"])
    for name in module.OUTCOMES:
        rows.append([f"`outcomes.{name}`", "`metrics.episode_outcomes`", "[episode outcomes](#episode-outcomes)"])
    return table(["key in `results.json`", "computed by", "definition"], rows)


def flag_rows(cls: type, prefix: str, skip: tuple[str, ...] = ()) -> list[list[Any]]:
    """One row per command-line flag of a settings dataclass, nested dataclasses flattened (tyro's names)."""
    docs, rows = attribute_docs(cls), []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        factory: Callable[[], Any] | None = None if f.default_factory is dataclasses.MISSING else f.default_factory
        default = factory() if factory is not None else f.default
        flag = "--" + prefix + f.name.replace("_", "-")
        if dataclasses.is_dataclass(default):
            rows += flag_rows(type(default), f"{prefix}{f.name}.")
            continue
        if isinstance(default, bool):
            flag = f"{flag}, --{prefix}no-{f.name.replace('_', '-')}"
        shown = "one per core" if f.default is dataclasses.MISSING else cell(default)
        rows.append([f"`{flag}`", f"`{shown}`", docs.get(f.name, "")])
    return rows


def cli(command: str | None) -> str:
    """Flags of ``train/ppo_soo.py`` (``experiment``) or of ``train/sweep.py`` (``sweep``)."""
    from soo_rl.experiment.config import ExperimentConfig
    from soo_rl.experiment.sweep import SWEEP_RECIPES, SweepConfig

    assert command in ("experiment", "sweep"), "cli needs a command: <!-- generated:cli:experiment -->"
    if command == "experiment":
        rows = flag_rows(ExperimentConfig, "")
    else:
        base = "every flag of `train/ppo_soo.py` as `--base.<flag>` (default `--base.no-gifs`)"
        rows = [*flag_rows(SweepConfig, "", skip=("base",)), ["`--base.*`", "", base]]
    rows += [["`--config FILE.toml`", "", "defaults from a TOML file; flags override it"]]
    if command == "sweep":
        recipes = ", ".join(f"`{name}`" for name in SWEEP_RECIPES)
        rows.append(["`--recipe NAME`", "", f"start from a named sweep ({recipes})"])
    return table(["flag", "default", "meaning"], rows)


def tuned(_: str | None) -> str:
    """Every setting chosen by looking at results, with the seed it was chosen on (``TUNED_SETTINGS``)."""
    from soo_rl.experiment.config import TUNED_SETTINGS

    return table(["setting", "how it was chosen"], [[f"`{k}`", v] for k, v in TUNED_SETTINGS.items()])


def main_job_time(_: str | None) -> str:
    """How long the main job takes on its defaults (``soo_rl.cli.experiment.MAIN_JOB_TIME``)."""
    from soo_rl.cli.experiment import MAIN_JOB_TIME

    return (
        f"**How long it takes:** {MAIN_JOB_TIME} (measured: [where the time goes](experiment.md#where-the-time-goes))."
    )


def answers(_: str | None) -> str:
    """The README's table of answers per world, its links made relative to ``docs/`` (the README is the one copy)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Did SOO reduce deception?", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.strip().splitlines() if line.startswith("|")]
    return "\n".join(rows).replace("](docs/", "](")


GENERATORS: dict[str, Callable[[str | None], str]] = {
    "presets": presets,
    "settings": settings,
    "attributes": attributes,
    "layout": layout,
    "variants": variants,
    "conditions": conditions,
    "controls": controls,
    "metrics": metrics,
    "cli": cli,
    "tuned": tuned,
    "main-job-time": main_job_time,
    "answers": answers,
}
"""Marker name -> function of the marker's argument returning a markdown table."""


def expand(markdown: str) -> str:
    """Replace every generated-table marker of a page by its table."""

    use_this_checkout()

    def replace(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated marker {match.group(0)!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name](arg)

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs hook: expand the generated-table markers."""
    return expand(markdown)


def world_gif(world: str) -> bytes:
    """A seeded episode of one world with scripted agents, as GIF bytes (about 65 kB)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from envs.deception.animation import episode_frames, save_animation
    from envs.deception.config import make_config
    from envs.deception.scripted import scripted_policy

    config = make_config(world)
    blue = scripted_policy(GIF_POLICIES.get(world, "honest"), config)
    frames = episode_frames(config, scripted_policy("red_follower", config), blue, seed=0, size=240)
    with tempfile.TemporaryDirectory() as tmp:
        return save_animation(frames, Path(tmp) / "episode.gif").read_bytes()


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """MkDocs hook: add ``gifs/<world>.gif`` for every training world."""
    from mkdocs.structure.files import File

    use_this_checkout()
    for world in WORLDS:
        files.append(File.generated(config, f"gifs/{world}.gif", content=world_gif(world)))
    return files
