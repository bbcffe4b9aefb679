"""Matplotlib set up for files (no screen), and figures saved atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from soo_rl.io import atomic_path

__all__ = ["plt", "save_figure"]


def save_figure(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
