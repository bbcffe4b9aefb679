"""Watch a trained blue play, in a pygame window or written to a GIF/MP4.

python train/render.py runs/default/checkpoints/soo_seed0.zip                 # window
python train/render.py runs/default/checkpoints/soo_seed0.zip --out soo.gif   # file
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from agents.batch_policy import ModelPolicy
from agents.soo_ppo import SOOPPO
from envs.config import make_config
from envs.core import DeceptionCore
from envs.rendering import Renderer
from envs.rollout import rollout
from envs.scripted import scripted_policy
from soo_rl.animation import ANIMATION_SUFFIXES, episode_frames, save_animation


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


def main(args: RenderArgs) -> None:
    if not args.checkpoint.is_file():
        raise SystemExit(f"no checkpoint at {args.checkpoint}")
    if args.out is not None and args.out.suffix not in ANIMATION_SUFFIXES:
        raise SystemExit(f"--out must end in one of {ANIMATION_SUFFIXES}, got {args.out}")
    config = make_config(args.preset)
    blue = ModelPolicy(SOOPPO.load(args.checkpoint, device="cpu"))
    red = scripted_policy("red_follower", config)
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


if __name__ == "__main__":
    main(tyro.cli(RenderArgs))
