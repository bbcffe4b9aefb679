"""``python train/render.py``: watch a trained blue play, in a pygame window or written to a GIF/MP4."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from agents.batch_policy import ModelPolicy
from agents.soo_ppo import CheckpointError, load_checkpoint
from envs.deception.animation import ANIMATION_SUFFIXES, episode_frames, save_animation
from envs.deception.config import PRESETS, make_config
from envs.deception.core import DeceptionCore
from envs.deception.layout import blue_layout
from envs.deception.recording import rollout
from envs.deception.rendering import Renderer
from envs.deception.scripted import scripted_policy
from envs.generic.validation import check_choice, check_int


@dataclass(frozen=True)
class RenderArgs:
    """Render episodes of a trained blue against the scripted red."""

    checkpoint: tyro.conf.Positional[Path]
    """An SB3 PPO or SOOPPO checkpoint (.zip) of blue."""
    out: Path | None = None
    """Write a .gif or .mp4 instead of opening a window (MP4 needs imageio-ffmpeg)."""
    episodes: int = 3
    """Episodes to show in the window (the file gets one)."""
    seed: int = 0
    """Seed of the episodes."""
    preset: str = "default"
    """Environment preset the agent was trained on."""
    fps: int = 10
    """Frames per second."""

    def __post_init__(self) -> None:
        check_int("episodes", self.episodes, 1)
        check_int("fps", self.fps, 1)
        check_choice("preset", self.preset, tuple(PRESETS))
        if self.out is not None:
            check_choice("--out suffix", self.out.suffix, ANIMATION_SUFFIXES)


def render(args: RenderArgs) -> None:
    """Show ``args.episodes`` episodes in a window, or write one to ``args.out``."""
    config = make_config(args.preset)
    model = load_checkpoint(args.checkpoint)
    if model.observation_space.shape != (blue_layout(config.num_landmarks).size,):
        raise CheckpointError(
            f"{args.checkpoint} takes observations of shape {model.observation_space.shape}, not blue's in preset "
            f"{args.preset!r}"
        )
    blue, red = ModelPolicy(model), scripted_policy("red_follower", config)
    if args.out is not None:
        save_animation(episode_frames(config, red, blue, args.seed), args.out, args.fps)
        print(f"wrote {args.out}")
        return
    renderer = Renderer("human", fps=args.fps)

    def show(core: DeceptionCore) -> None:
        renderer.render(core)

    for episode in range(args.episodes):
        rollout(config, red, blue, 1, seed=args.seed + episode, on_state=show)
    renderer.close()


def main(argv: list[str] | None = None) -> None:
    """The command line of ``train/render.py``."""
    try:
        render(tyro.cli(RenderArgs, args=argv))
    except (CheckpointError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
