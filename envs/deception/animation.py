"""Episode animations: render an episode frame by frame and write a GIF (or MP4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
from numpy.typing import NDArray

from envs.deception.config import DeceptionConfig
from envs.deception.core import DeceptionCore
from envs.deception.recording import rollout
from envs.deception.rendering import Renderer
from envs.generic.actions import BatchPolicy
from envs.generic.io import atomic_path

ANIMATION_SUFFIXES = (".gif", ".mp4")


def episode_frames(
    config: DeceptionConfig, red: BatchPolicy, blue: BatchPolicy, seed: int, size: int = 384
) -> list[NDArray[np.uint8]]:
    """Frames (``H x W x 3`` uint8) of one seeded episode, from the initial state to the last step."""
    renderer = Renderer("rgb_array", size=size)
    frames: list[NDArray[np.uint8]] = []

    def capture(core: DeceptionCore) -> None:
        frame = renderer.render(core)
        assert frame is not None
        frames.append(frame)

    rollout(config, red, blue, 1, seed=seed, on_state=capture)
    renderer.close()
    return frames


def save_animation(frames: list[NDArray[np.uint8]], path: str | Path, fps: int = 10, comment: str = "") -> Path:
    """Write frames atomically as a GIF or MP4 (chosen by the suffix; MP4 needs ``imageio-ffmpeg``).

    :param comment: a GIF's comment (``imageio.v3.immeta(path)["comment"]``): what made it.
    """
    path = Path(path)
    if path.suffix not in ANIMATION_SUFFIXES:
        raise ValueError(f"animation path must end in one of {ANIMATION_SUFFIXES}, got {path.name!r}")
    images: list[Any] = list(frames)
    with atomic_path(path) as tmp:
        if path.suffix == ".gif":
            imageio.mimsave(tmp, images, format="GIF", duration=1000 / fps, loop=0, comment=comment.encode())
        else:
            imageio.mimsave(tmp, images, format="FFMPEG", fps=fps)
    return path
