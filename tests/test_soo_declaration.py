"""What SOOPPO reads of what it is given: the env's declared ``SOOView``, the checkpoint's layout and radius, the
named presets, raw observations, and errors that name the real problem."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.soo.presets import SOO_PRESETS
from agents.soo_ppo import MOVED_MODULES, SOOPPO
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import blue_layout, red_layout
from envs.generic.layout import ObsLayout, SOOView

TINY: dict[str, Any] = {
    "n_steps": 16,
    "batch_size": 16,
    "n_epochs": 2,
    "policy_kwargs": {"net_arch": [16, 16]},
    "device": "cpu",
}
PENDULUM_LAYOUT = ObsLayout.from_slots(3, {"other_rel": slice(0, 2)})
"""A declaration for Pendulum's 3 numbers: only the channel is under test, not its meaning."""


class Declared(gym.Wrapper[Any, Any, Any, Any]):
    """A gymnasium env with extra attributes (e.g. ``soo_view``)."""

    def __init__(self, env: gym.Env[Any, Any], **attributes: Any) -> None:
        super().__init__(env)
        for name, value in attributes.items():
            setattr(self, name, value)


def pendulum(n_envs: int = 1, **attributes: Any) -> VecEnv:
    return sb3_make_vec_env("Pendulum-v1", n_envs=n_envs, wrapper_class=Declared, wrapper_kwargs=attributes)


@pytest.fixture(scope="module")
def pendulum_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SOOPPO saved with a layout and radius of 0.7, from an env that declares them."""
    model = SOOPPO("MlpPolicy", pendulum(soo_view=SOOView(PENDULUM_LAYOUT, 0.7)), seed=0, **TINY)
    path = tmp_path_factory.mktemp("ckpt") / "pendulum.zip"
    model.save(path)
    return path


# ------------------------------------------------------------------ the env's declaration
@pytest.mark.parametrize(
    ("learner", "layout", "radius"), [("blue_0", blue_layout(2), 0.2), ("red_0", red_layout(2), 0.3)]
)
def test_the_suites_world_declares_itself_as_any_env_does(learner: str, layout: ObsLayout, radius: float) -> None:
    venv = make_vec_env(4, learner=learner, blue_radius=0.2, red_radius=0.3)
    assert venv.get_attr("soo_view") == [SOOView(layout, radius)] * 4
    model = SOOPPO("MlpPolicy", venv, soo_coef=1.0, **TINY)
    assert (model.obs_layout, model.soo_radius) == (layout, radius)


def test_a_gymnasium_env_declares_its_view_through_get_attr() -> None:
    model = SOOPPO("MlpPolicy", pendulum(2, soo_view=SOOView(PENDULUM_LAYOUT, 0.4)), soo_coef=1.0, **TINY)
    assert (model.obs_layout, model.soo_radius) == (PENDULUM_LAYOUT, 0.4)


def test_an_env_with_config_and_learner_attributes_is_not_mistaken_for_the_suites() -> None:
    model = SOOPPO("MlpPolicy", pendulum(config={"blue_radius": 1}, learner="agent"), **TINY)
    assert model.obs_layout is None and model.soo_radius is None


def test_given_values_that_differ_from_the_declaration_are_used_with_a_warning() -> None:
    venv = make_vec_env(4, blue_radius=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SOOPPO("MlpPolicy", venv, obs_layout=blue_layout(2), soo_radius=0.2, **TINY)  # equal: silent
    with pytest.warns(UserWarning, match="soo_radius 0.3 differs from the env's soo_view \\(0.2\\)"):
        model = SOOPPO("MlpPolicy", venv, soo_radius=0.3, **TINY)
    assert model.soo_radius == 0.3


def test_learners_of_one_policy_must_declare_the_same_view() -> None:
    views = [SOOView(PENDULUM_LAYOUT, 0.4), SOOView(PENDULUM_LAYOUT, 0.5)]
    venv = pendulum(2, soo_view=views[0])
    venv.set_attr("soo_view", views[1], indices=[1])
    with pytest.raises(ValueError, match=r"env 1 declares soo_view .* but env 0 declares"):
        SOOPPO("MlpPolicy", venv, **TINY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "other_rel", "radius": 0.5}, "layout must be an envs.generic.layout.ObsLayout"),
        ({"layout": PENDULUM_LAYOUT, "radius": 0.0}, "radius must be a finite number in \\(0.0, inf\\]"),
    ],
)
def test_a_bad_view_is_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SOOView(**kwargs)


# ------------------------------------------------------------------ errors that name the real problem
def test_a_layout_of_the_wrong_width_is_reported_as_such() -> None:
    wrong = ObsLayout.from_slots(5, {"other_rel": slice(0, 2)})
    with pytest.raises(ValueError, match="covers 5 entries but the learner's observation space has 3"):
        SOOPPO("MlpPolicy", pendulum(), soo_coef=1.0, obs_layout=wrong, soo_radius=0.5, **TINY)


def test_flags_are_declared_not_named() -> None:
    layout = ObsLayout.from_slots(4, {"red_0_rel": (0, 2), "red_0_trapped": 2}, other="red_0", flags=["red_0_trapped"])
    assert layout.flags == ("red_0_trapped",) and blue_layout(2).flags == ("red_trapped",)
    assert ObsLayout.from_slots(4, {"red_trapped": 3}).flags == ()  # the name alone declares nothing
    with pytest.raises(ValueError, match="flags must be distinct slots of the layout"):
        ObsLayout.from_slots(4, {"red_0_rel": (0, 2)}, flags=["red_0_trapped"])


def test_a_layout_pickled_before_flags_were_declared_keeps_its_flag() -> None:
    old = pickle.loads(pickle.dumps(blue_layout(2)))
    state = {key: value for key, value in vars(old).items() if key != "flags"}
    restored = ObsLayout.__new__(ObsLayout)
    restored.__setstate__(state)
    assert restored == blue_layout(2) and restored.flags == ("red_trapped",)


def test_a_checkpoint_that_names_the_layouts_old_module_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import envs.generic.layout

    old_name = next(old for old, new in MOVED_MODULES.items() if new == "envs.generic.layout")
    model = SOOPPO("MlpPolicy", make_vec_env(2), soo_coef=1.0, **TINY)
    with monkeypatch.context() as patch:  # save as the code did before the module moved
        patch.setattr(ObsLayout, "__module__", old_name)
        patch.setitem(sys.modules, old_name, envs.generic.layout)
        model.save(tmp_path / "old.zip")
    before = sys.modules.get(old_name)
    loaded = SOOPPO.load(tmp_path / "old.zip")
    assert type(loaded.obs_layout) is ObsLayout and loaded.obs_layout == blue_layout(2)
    assert sys.modules.get(old_name) is before


# ------------------------------------------------------------------ observation normalisation
def test_normalised_observations_are_refused_under_soo_with_the_fix_named() -> None:
    message = "SOO builds its pairs on raw observations.*use VecNormalize\\(norm_obs=False\\)"
    with pytest.raises(ValueError, match=message):
        SOOPPO("MlpPolicy", VecNormalize(make_vec_env(4)), soo_coef=1.0, **TINY)
    SOOPPO("MlpPolicy", VecNormalize(make_vec_env(4), norm_obs=False), soo_coef=1.0, **TINY)
    model = SOOPPO("MlpPolicy", VecNormalize(make_vec_env(4)), **TINY)  # SOO off: PPO as SB3 has it
    soo = SOOPPO("MlpPolicy", make_vec_env(4), soo_coef=1.0, **TINY)
    with pytest.raises(ValueError, match=message):
        soo.set_env(VecNormalize(make_vec_env(4)))
    assert model.obs_layout == blue_layout(2)  # normalisation hides nothing of the declaration


# ------------------------------------------------------------------ fine_tune: the checkpoint and the presets
def test_fine_tune_takes_the_checkpoints_layout_and_radius(pendulum_checkpoint: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SOOPPO.fine_tune(pendulum_checkpoint, pendulum(), soo_coef=1.0, kl_coef=0.1, **TINY)
    assert (model.obs_layout, model.soo_radius) == (PENDULUM_LAYOUT, 0.7)


def test_fine_tune_says_when_a_given_value_differs_from_the_checkpoints(pendulum_checkpoint: Path) -> None:
    with pytest.warns(UserWarning, match="soo_radius 0.5 differs from the one stored in .*pendulum.zip \\(0.7\\)"):
        model = SOOPPO.fine_tune(pendulum_checkpoint, pendulum(), soo_radius=0.5, **TINY)
    assert model.soo_radius == 0.5
    declared = pendulum(soo_view=SOOView(PENDULUM_LAYOUT, 0.9))
    with pytest.warns(UserWarning, match="soo_radius 0.7 differs from the env's soo_view \\(0.9\\)"):
        SOOPPO.fine_tune(pendulum_checkpoint, declared, **TINY)


def test_the_actions_preset_is_the_working_setting_and_kwargs_override_it(pendulum_checkpoint: Path) -> None:
    assert SOO_PRESETS["actions"].kwargs() == {
        "soo_target": "actions",
        "soo_distance": "mse",
        "soo_coef": 1.0,
        "soo_stop_gradient": True,
        "kl_coef": 0.1,
        "soo_max_selves": 256,
    }
    model = SOOPPO.fine_tune(pendulum_checkpoint, pendulum(), preset="actions", soo_coef=0.5, **TINY)
    chosen = (model.soo_target, model.soo_distance, model.soo_stop_gradient, model.kl_coef, model.soo_coef)
    assert chosen == ("actions", "mse", True, 0.1, 0.5)
    hidden = SOOPPO.fine_tune(pendulum_checkpoint, pendulum(), preset="hidden_log_mse", **TINY)
    assert (hidden.soo_target, hidden.soo_distance, hidden.soo_stop_gradient) == ("hidden", "log_mse", False)
    with pytest.raises(ValueError, match="preset must be one of \\['actions', 'hidden_log_mse'\\], got 'best'"):
        SOOPPO.fine_tune(pendulum_checkpoint, pendulum(), preset="best", **TINY)


def test_an_undeclared_subprocess_env_survives_the_question() -> None:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = sb3_make_vec_env("Pendulum-v1", n_envs=2, vec_env_cls=SubprocVecEnv)
    model = SOOPPO("MlpPolicy", venv, **TINY)
    assert model.obs_layout is None
    model.learn(32)  # the workers still answer
    venv.close()
