"""Results as text: entries with their CIs, the console table, markdown tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from soo_rl.measurement.evaluation import METRICS
from soo_rl.measurement.metrics import OUTCOMES


def format_entry(entry: dict[str, Any]) -> str:
    """``mean [low, high]`` of a metric entry, or ``n/a``."""
    if entry["mean"] is None:
        return "n/a"
    low, high = entry["ci"]
    return f"{entry['mean']:.3f} [{low:.3f}, {high:.3f}]"


def results_table(results: dict[str, Any]) -> list[list[str]]:
    """Rows ``condition, metric...`` of the results table (mean and 95% CI over seeds)."""
    return [[name, *(format_entry(data[m]) for m in METRICS)] for name, data in results["conditions"].items()]


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    """The results table on the console (wide enough for every column, also when piped to a file)."""
    if console is None:
        console = Console()
        if not console.is_terminal or console.width < 190:
            console = Console(width=190)
    table = Table(title="SOO-RL results: mean [95% CI] over seeds")
    for column in ("condition", *METRICS):
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in results_table(results):
        table.add_row(*row)
    console.print(table)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def outcome_table(results: dict[str, Any]) -> str:
    """Markdown table of the episode outcome classes per condition (mean [95% CI] over seeds)."""
    rows = [[name, *(format_entry(data[o]) for o in OUTCOMES)] for name, data in results["outcomes"].items()]
    return markdown_table(["condition", *OUTCOMES], rows)


def detection_table(curve: dict[str, Any]) -> str:
    """Markdown table of detection against the number of evaluation episodes each agent's SOO value uses."""
    rows = [
        [f"{n:,}", str(blocks), f"{measured:.2f}", format_entry(accuracy), format_entry(auc)]
        for n, blocks, measured, accuracy, auc in zip(
            curve["episodes"], curve["blocks"], curve["measured"], curve["pairwise_accuracy"], curve["auc"], strict=True
        )
    ]
    header = ["episodes per agent", "blocks", "measured", "pairwise accuracy [95% CI]", "ROC AUC [95% CI]"]
    note = (
        f"{curve['seeds']} seed pairs. Each agent's SOO value is measured on `n` episodes; the scores are averaged "
        "over disjoint blocks of `n` evaluation episodes; `measured` is the share of blocks with a self step "
        "(an agent never out of sight of red in a block cannot be classified there and counts as a coin flip)."
    )
    return note + "\n\n" + markdown_table(header, rows)
