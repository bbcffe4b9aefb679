"""Rendering, headless: ``rgb_array`` images show the state (including the trap); ``human`` returns None."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import envs.deception.deception_v0 as deception_v0
from envs.deception.core import RED_INDEX
from envs.deception.layout import BLUE, RED
from envs.deception.parallel import DeceptionParallelEnv
from envs.deception.rendering import AGENT_SIZE, COLOURS

LANDMARKS = [[0.5, 0.5], [-0.5, -0.5]]  # goal, fake
StateFactory = Callable[..., dict[str, Any]]
ZERO = np.zeros(2, dtype=np.float32)


@pytest.fixture(autouse=True)
def _fast_human_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("envs.deception.parallel", "envs.deception.vec_env"):
        monkeypatch.setattr(f"{module}.RENDER_FPS", 1000)


def red_pixel(env: DeceptionParallelEnv, image: np.ndarray) -> tuple[int, ...]:
    """Colour of red's disc half a radius below its centre (clear of the trap cross)."""
    size = image.shape[0]
    x, y = env.core.pos[0, RED_INDEX]
    col = int(size / 2 + x * size / 2)
    row = int(size / 2 - y * size / 2 + AGENT_SIZE * size / 4)
    return tuple(int(c) for c in image[row, col])


def start(state: dict[str, Any], **kwargs: Any) -> DeceptionParallelEnv:
    env = deception_v0.parallel_env(**kwargs)
    env.reset(seed=0, options={"initial_state": state})
    return env


def test_rgb_array_is_a_non_blank_image(make_state: StateFactory) -> None:
    env = start(make_state(landmarks=LANDMARKS), render_mode="rgb_array")
    image = env.render()
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3 and image.shape[0] > 0
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 5
    env.close()


def test_image_changes_when_red_is_trapped(make_state: StateFactory) -> None:
    """Red walks from just outside the trap radius onto the fake landmark; its disc turns the trapped colour."""
    env = start(make_state(red_pos=[-0.5, -0.25], blue_pos=[0.0, 0.9], landmarks=LANDMARKS), render_mode="rgb_array")
    before = env.render()
    assert red_pixel(env, before) == COLOURS["red"]
    down = {RED: np.array([0.0, -1.0], dtype=np.float32), BLUE: ZERO}
    while not env.core.trapped[0]:
        env.step(down)
    after = env.render()
    assert red_pixel(env, after) == COLOURS["trapped"]
    assert not np.array_equal(before, after)


def test_an_absent_red_is_not_drawn(make_state: StateFactory) -> None:
    state = make_state(red_pos=[-0.5, 0.25], blue_pos=[0.5, -0.25], landmarks=LANDMARKS)
    present = start(state, render_mode="rgb_array", preset="contingent")
    absent = start({**state, "red_absent": True}, render_mode="rgb_array", preset="contingent")
    assert red_pixel(present, present.render()) == COLOURS["red"]
    assert red_pixel(absent, absent.render()) == COLOURS["background"]


def test_image_follows_the_agents(make_state: StateFactory) -> None:
    images = [start(make_state(blue_pos=[x, 0.0]), render_mode="rgb_array").render() for x in (-0.5, 0.5)]
    assert not np.array_equal(*images)


def test_human_mode_is_headless_and_returns_none(make_state: StateFactory) -> None:
    env = start(make_state(), render_mode="human")
    assert env.render() is None
    env.step({RED: ZERO, BLUE: ZERO})
    env.close()


def test_render_without_mode_warns_and_returns_none() -> None:
    env = deception_v0.parallel_env()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


@pytest.mark.parametrize("render_mode", ["rgb_array", "human"])
def test_vec_env_renders_episode_zero(render_mode: str) -> None:
    venv = deception_v0.make_vec_env(num_envs=3, seed=0, render_mode=render_mode)
    venv.reset()
    image = venv.render()
    if render_mode == "human":
        assert image is None
    else:
        assert image is not None and image.dtype == np.uint8 and image.ndim == 3
        images = venv.get_images()
        assert len(images) == 3 and np.array_equal(images[0], image)
    venv.close()
