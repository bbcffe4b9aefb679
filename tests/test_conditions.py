"""The table of conditions, the settings each agent is trained with, and the fingerprints that share work."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from envs.deception.config import make_config
from soo_rl.experiment.conditions import (
    BASELINE_SETTINGS,
    BASELINES,
    CO_LEARNING_RED_SETTINGS,
    CONDITIONS,
    DEFAULT_CONDITIONS,
    FINE_TUNINGS,
    MASKED_CONTROLS,
)
from soo_rl.experiment.config import ExperimentConfig, FineTuneSettings
from soo_rl.experiment.paths import (
    AgentRef,
    agent_checkpoint,
    baseline_fingerprint,
    eval_fingerprint,
    eval_paths,
    red_checkpoint,
)
from soo_rl.experiment.pipeline import experiment_tasks
from soo_rl.experiment.sweep import SweepConfig, cells
from soo_rl.experiment.training import LOGGED_FINE_TUNING_ARGUMENTS, sooppo_arguments
from soo_rl.experiment.worlds import world_for


def test_the_table_says_what_each_condition_is() -> None:
    assert BASELINES == ("honest", "deceptive")
    assert set(FINE_TUNINGS) >= {"soo", "anchor_only", "random_pairs", "honesty_reward"}
    for name, condition in CONDITIONS.items():
        assert condition.name == name and condition.summary
        assert condition.fine_tuned == (name not in (*BASELINES, *MASKED_CONTROLS))
        is_soo = condition.pair_mode == "self_other"
        if condition.fine_tuned and not is_soo:
            assert condition.controls_for, f"{name} must say what it controls for"
        assert not (is_soo and condition.controls_for)
    assert CONDITIONS["honesty_reward"].reward_mode == "honesty"
    assert CONDITIONS["honest"].reward_mode == "honest"
    deceptive_reward = [c for c in CONDITIONS if c not in ("honest", "honesty_reward")]
    assert all(CONDITIONS[c].reward_mode == "deceptive" for c in deceptive_reward)
    assert CONDITIONS["flag_only"].pair_mode == "flag_only" and CONDITIONS["random_pairs_matched"].pair_mode == "random"
    assert CONDITIONS["random_pairs_matched"].coef_setting == "random_pairs_matched_coef"
    assert CONDITIONS["soo_paper"].finetune_overrides["pair_flags"] == "zero"
    assert CONDITIONS["soo_actions"].finetune_overrides == {"soo_target": "actions"}
    assert set(FINE_TUNINGS) - set(DEFAULT_CONDITIONS) == {"soo_ring", "soo_lure", "soo_frozen"}  # only when named


def test_the_keeping_awareness_designs_are_soo_with_their_own_pairs_or_target() -> None:
    config = ExperimentConfig(
        finetune=FineTuneSettings(soo_coef=3.0, soo_distance="mse", soo_target="actions", ring_inner_radius=0.15)
    )
    soo, ring, lure, frozen = (config.finetune_for(c) for c in ("soo", "soo_ring", "soo_lure", "soo_frozen"))
    assert ring == dataclasses.replace(soo, pair_inner_radius=0.15)
    assert lure == dataclasses.replace(soo, soo_target="lure")
    assert frozen == dataclasses.replace(soo, soo_self="reference") and soo.soo_self == "current"
    world = world_for(config)
    ring_args, lure_args, frozen_args, soo_args = (
        sooppo_arguments(config, AgentRef(c, 0), world, "tb") for c in ("soo_ring", "soo_lure", "soo_frozen", "soo")
    )
    assert ring_args["soo_pair_options"].inner_radius == 0.15 and ring_args["soo_target"] == "actions"
    assert lure_args["soo_target"] == "lure" and lure_args["soo_pair_options"].inner_radius == 0.0
    assert frozen_args == {**soo_args, "soo_self": "reference"} and soo_args["soo_self"] == "current"
    assert ring_args["soo_coef"] == lure_args["soo_coef"] == 3.0
    with pytest.raises(ValueError, match=r"finetune.ring_inner_radius must be a finite number in \(0.0, inf\]"):
        FineTuneSettings(ring_inner_radius=0.0)
    ring_outside = FineTuneSettings(pair_radius=0.2)
    ExperimentConfig(finetune=ring_outside)  # soo_ring does not run by default
    with pytest.raises(ValueError, match=r"finetune.pair_inner_radius must be below finetune.pair_radius \(0.2\)"):
        ExperimentConfig(finetune=ring_outside, conditions=("soo_ring",))


def test_each_condition_is_trained_with_its_own_loss_and_reward() -> None:
    config = ExperimentConfig(finetune=FineTuneSettings(soo_coef=2.5, kl_coef=0.3, soo_distance="mse"))
    world = world_for(config)

    def arguments(condition: str) -> dict[str, Any]:
        return sooppo_arguments(config, AgentRef(condition, 0), world, "tb")

    soo, anchor = arguments("soo"), arguments("anchor_only")
    random_pairs, honesty = arguments("random_pairs"), arguments("honesty_reward")
    assert soo["soo_pair_mode"] == "self_other" and soo["soo_coef"] == 2.5 and soo["soo_distance"] == "mse"
    assert random_pairs["soo_pair_mode"] == "random" and random_pairs["soo_coef"] == 2.5
    assert anchor == honesty and anchor["kl_coef"] == 0.3  # no pair loss: the anchor only
    assert not [name for name in anchor if name.startswith("soo_")]
    paper, matched = arguments("soo_paper"), arguments("random_pairs_matched")
    assert paper["soo_target"] == "actions" and paper["soo_pair_options"].insertion == "radius"
    assert paper["soo_pair_options"].radius == 0.125 and paper["soo_pair_options"].flags == "zero"
    assert soo["soo_pair_options"].flags == "keep" and soo["soo_target"] == "hidden"
    assert matched["soo_coef"] == config.finetune.random_pairs_matched_coef != soo["soo_coef"]
    assert arguments("flag_only")["soo_pair_mode"] == "flag_only"
    assert all(settings["kl_coef"] == 0.3 for settings in (soo, random_pairs))


def test_the_settings_become_sooppo_arguments_in_one_place() -> None:
    config = ExperimentConfig(finetune=FineTuneSettings(learning_rate=1e-5, soo_layers=(0,), action_head_scale=0.5))
    world = world_for(config)
    baseline = sooppo_arguments(config, AgentRef("deceptive", 3), world, "tb")
    assert baseline == {**config.ppo.to_sb3_kwargs(), "seed": 3, "tensorboard_log": "tb"}
    tuned = sooppo_arguments(config, AgentRef("soo", 3), world, "tb")
    assert tuned["learning_rate"] == 1e-5 != baseline["learning_rate"] and tuned["action_head_scale"] == 0.5
    assert tuned["policy_kwargs"] == {**baseline["policy_kwargs"], "soo_layers": (0,)}
    assert set(LOGGED_FINE_TUNING_ARGUMENTS) <= set(tuned)


def test_baseline_fingerprints_cover_exactly_the_baseline_settings() -> None:
    base = ExperimentConfig()
    changes = {
        "preset": "paper",
        "ppo": dataclasses.replace(base.ppo, learning_rate=5e-4),
        "train_eval_every": 7,
        "train_eval_episodes": 50,
        "honest_timesteps": 1000,
    }
    for key, value in changes.items():
        assert baseline_fingerprint(dataclasses.replace(base, **{key: value})) != baseline_fingerprint(base), key
    assert set(changes) | {"red", "red_timesteps", *CO_LEARNING_RED_SETTINGS} == set(BASELINE_SETTINGS)
    unrelated = {
        "finetune": FineTuneSettings(soo_coef=3.0, soo_layers=(1,)),
        "eval": dataclasses.replace(base.eval, episodes=7),
        "seeds": (5, 6),
        "conditions": ("soo",),
        "red_timesteps": 10,  # only a learned red depends on it
        "workers": 1,
    }
    for key, value in unrelated.items():
        assert baseline_fingerprint(dataclasses.replace(base, **{key: value})) == baseline_fingerprint(base), key
    learned = dataclasses.replace(base, red="learned")
    assert baseline_fingerprint(dataclasses.replace(learned, red_timesteps=10)) != baseline_fingerprint(learned)
    co_learning = dataclasses.replace(base, red="co-learning")
    warmed = dataclasses.replace(co_learning, red_warmup_timesteps=10)
    assert baseline_fingerprint(warmed) != baseline_fingerprint(co_learning)
    for key, value in {"red_ent_coef": 0.0, "red_lr_after_warmup": 1e-4}.items():
        assert baseline_fingerprint(dataclasses.replace(warmed, **{key: value})) != baseline_fingerprint(warmed), key
    for key, value in {"red_warmup_timesteps": 10, "red_ent_coef": 0.0, "red_lr_after_warmup": 1e-4}.items():
        with pytest.raises(ValueError, match=f"{key} sets up a co-learning red; red is 'learned'"):
            dataclasses.replace(learned, **{key: value})
    with pytest.raises(ValueError, match="red_lr_after_warmup needs red_warmup_timesteps > 0"):
        dataclasses.replace(co_learning, red_lr_after_warmup=1e-4)


def test_the_soo_layers_define_the_measured_soo_value_not_the_baselines() -> None:
    # Regression: finetune.soo_layers leaked into the baselines' training, while sharing and the evaluation
    # fingerprint ignored it, so a sweep over soo_layers measured every cell's baselines on the first layer.
    grid = cells(SweepConfig(grid=("finetune.soo_layers=[0],[1]",), base=ExperimentConfig(seeds=(0,), gifs=False)))
    first, second = (cell.config for cell in grid)
    assert first.baselines_from == second.baselines_from  # one set of baselines...
    assert eval_fingerprint(first) != eval_fingerprint(second)  # ...measured once per layer choice
    assert first.soo_measure().layers == (0,) and second.soo_measure().layers == (1,)
    honest = AgentRef("honest", 0)
    assert eval_paths(first, honest)[0] != eval_paths(second, honest)[0]
    train_args = {task.args[1:]: task.args[0] for task in experiment_tasks(first, train_baselines=True)}
    assert train_args[("honest", 0)]["finetune"] == train_args[("deceptive", 0)]["finetune"]
    assert eval_fingerprint(dataclasses.replace(first, seeds=(0, 1))) == eval_fingerprint(first)
    assert eval_fingerprint(dataclasses.replace(first, eval=dataclasses.replace(first.eval, seed=1))) != (
        eval_fingerprint(first)
    )


def test_baselines_and_the_learned_red_live_in_the_baselines_directory() -> None:
    config = ExperimentConfig(run_dir=Path("run"), baselines_from=Path("base"), red="learned")
    assert agent_checkpoint(config, AgentRef("honest", 1)) == Path("base/checkpoints/honest_seed1.zip")
    assert agent_checkpoint(config, AgentRef("soo", 1)) == Path("run/checkpoints/soo_seed1.zip")
    assert red_checkpoint(config, 2) == Path("base/checkpoints/red_seed2.zip")


@pytest.mark.parametrize("field", ["pair_flags", "pair_insertion", "soo_target"])
def test_unknown_pair_options_are_rejected_by_name(field: str) -> None:
    with pytest.raises(ValueError, match=rf"finetune\.{field} must be one of"):
        FineTuneSettings(**{field: "bogus"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"finetune\.pair_radius must be a finite number"):
        FineTuneSettings(pair_radius=-1.0)


def test_an_inner_radius_is_a_ring_inside_the_insertion_disk() -> None:
    with pytest.raises(ValueError, match=r"finetune\.pair_inner_radius must be a finite number in \[0\.0, inf\]"):
        FineTuneSettings(pair_inner_radius=-0.1)
    with pytest.raises(ValueError, match=r"finetune\.pair_inner_radius must be below finetune\.pair_radius \(0\.2\)"):
        FineTuneSettings(pair_radius=0.2, pair_inner_radius=0.2)
    assert FineTuneSettings(pair_inner_radius=0.15).pair_options.inner_radius == 0.15


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_each_condition_trains_on_its_reward(condition: str) -> None:
    config = ExperimentConfig()
    world = world_for(config)
    reward_mode = CONDITIONS[condition].reward_mode
    env = world.training_env(config.ppo, 0, reward_mode, world.red(None))
    trained_in = env.get_attr("config")[0]
    penalty = {"trap_penalty": config.finetune.honesty_trap_penalty} if reward_mode == "honesty" else {}
    assert trained_in == make_config(config.preset, reward_mode=reward_mode, **penalty)
    env.close()


def test_the_settings_ask_the_world_registry_what_a_world_supports(monkeypatch: pytest.MonkeyPatch) -> None:
    from soo_rl.experiment import worlds

    assert ExperimentConfig().conditions == DEFAULT_CONDITIONS and ExperimentConfig().held_out_variants()
    entry = dataclasses.replace(worlds.WORLDS["default"], flag_slot=False, co_learning_red=False, held_out_variants=())
    monkeypatch.setitem(worlds.WORLDS, "default", entry)
    config = ExperimentConfig()
    assert "flag_only" not in config.conditions and "soo_paper" not in config.conditions
    assert config.held_out_variants() == ()
    with pytest.raises(ValueError, match="red='co-learning' runs in the worlds"):
        ExperimentConfig(red="co-learning")
    monkeypatch.setitem(worlds.WORLDS, "default", dataclasses.replace(entry, lure_target=False))
    with pytest.raises(ValueError, match=r"conditions \['soo_lure'\] compare the 'lure' target"):
        ExperimentConfig(conditions=("soo", "soo_lure"))
