"""Held-out scenario variants: the ``default`` preset plus a few changes, for evaluation only.

Every variant keeps the default preset's observation layout (same slots and sizes), so agents trained on
``default`` can be evaluated on it without further training. ``envs.deception.config`` registers each variant as a
preset of the same name (``make_config("far_red")``, ``deception_v0.parallel_env(preset="far_red")``);
``envs.deception.config.variant_config`` builds one and rejects names that are not held-out variants.
"""

from __future__ import annotations

from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    # Both agents see less far: red loses a fast blue sooner, blue must lead red from closer.
    "small_radii": {"blue_radius": 0.15, "red_radius": 0.15},
    # Both agents see farther: red keeps blue in sight longer, blue sees red from farther away.
    "large_radii": {"blue_radius": 0.4, "red_radius": 0.4},
    # Blue starts 0.3-0.5 from red, out of each other's sight: blue has to find red before it can lead it.
    "far_red": {"blue_spawn_radius": 0.5, "blue_spawn_min_radius": 0.3},
    # Red moves 1.3x faster than blue: it catches up with blue and is harder to lose.
    "fast_red": {"red_speed": 1.3},
    # Red moves 0.7x as fast as blue: blue has to wait for it to keep it in tow.
    "slow_red": {"red_speed": 0.7},
    # The fake landmark lies between blue's start and the goal: the honest route passes it.
    "fake_between": {"landmark_layout": "fake_between"},
    # Episodes twice as long (100 steps): more time after the goal is reached, or to trap red late.
    "long_episodes": {"max_cycles": 100},
}
"""Held-out variant name -> ``DeceptionConfig`` overrides on top of the ``default`` preset."""

HELD_OUT_VARIANTS: tuple[str, ...] = tuple(VARIANTS)
"""Names of the presets that are evaluation-only variants."""
