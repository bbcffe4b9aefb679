"""SOOPPO: identity with vanilla PPO, SOO and KL terms, save/load, logging, bad input."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agents.soo.pairs import PairOptions, build_pairs
from agents.soo_ppo import SOOPPO
from envs.deception.deception_v0 import make_vec_env
from envs.generic.layout import ObsLayout

TINY: dict[str, Any] = {
    "n_steps": 16,
    "batch_size": 64,
    "n_epochs": 2,
    "policy_kwargs": {"net_arch": [16, 16]},
    "device": "cpu",
}


def tiny_model(seed: int = 0, cls: type[PPO] = SOOPPO, env_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    venv = make_vec_env(8, seed=seed, **(env_kwargs or {}))
    return cls("MlpPolicy", venv, seed=seed, **{**TINY, **kwargs})


def same_parameters(a: th.nn.Module, b: th.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(th.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly trained SOOPPO blue, saved."""
    model = tiny_model(seed=3)
    model.learn(256)
    path = tmp_path_factory.mktemp("ckpt") / "blue.zip"
    model.save(path)
    return path


@pytest.mark.parametrize("continuous", [True, False])
def test_zero_coefficients_give_vanilla_ppo_bit_for_bit(continuous: bool) -> None:
    env_kwargs = {"continuous_actions": continuous}
    # Build and train one after the other: SB3 seeds the global RNGs when a model is built.
    vanilla = tiny_model(seed=1, cls=PPO, env_kwargs=env_kwargs)
    initial = {k: v.clone() for k, v in vanilla.policy.state_dict().items()}
    vanilla.learn(384)
    ours = tiny_model(seed=1, env_kwargs=env_kwargs)
    assert all(th.equal(initial[k], v) for k, v in ours.policy.state_dict().items())
    ours.learn(384)
    assert same_parameters(vanilla.policy, ours.policy)
    ring = tiny_model(seed=1, env_kwargs=env_kwargs, soo_pair_options=PairOptions(inner_radius=0.1))
    ring.learn(384)
    assert same_parameters(vanilla.policy, ring.policy)  # each design, at weight 0
    if continuous:  # the lure target needs 2-d moves
        lure = tiny_model(seed=1, env_kwargs=env_kwargs, soo_target="lure")
        lure.learn(384)
        assert same_parameters(vanilla.policy, lure.policy)
    # The check can fail: the SOO term changes training.
    with_soo = tiny_model(seed=1, env_kwargs=env_kwargs, soo_coef=1.0)
    with_soo.learn(384)
    assert not same_parameters(vanilla.policy, with_soo.policy)


def test_gradient_steps_on_soo_loss_lower_the_distance() -> None:
    model = tiny_model(seed=2, soo_coef=1.0)
    venv = make_vec_env(256, seed=5)
    obs = th.as_tensor(np.concatenate([venv.reset() for _ in range(1)]))
    obs[:, model.other_slots.visible] = 0.0
    obs[:, model.other_slots.rel] = 0.0
    pairs = build_pairs(obs, model.other_slots, model.soo_radius, th.Generator().manual_seed(0))
    assert pairs is not None

    def distance() -> float:
        with th.no_grad():
            diff = model.policy.actor_activations(pairs.self_obs) - model.policy.actor_activations(pairs.other_obs)
            return float((diff**2).mean())

    before = distance()
    optimizer = th.optim.Adam(model.policy.parameters(), lr=1e-2)
    for _ in range(20):
        loss = model.soo_loss(obs)
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert distance() < 0.5 * before


def test_actor_activations_select_layers() -> None:
    model = tiny_model(policy_kwargs={"net_arch": [16, 8], "soo_layers": [1]})
    obs = th.zeros(5, model.observation_space.shape[0])
    assert model.policy.actor_activations(obs).shape == (5, 8)
    full = tiny_model(policy_kwargs={"net_arch": [16, 8]})
    assert full.policy.actor_activations(obs).shape == (5, 24)
    with pytest.raises(ValueError, match="soo_layers must be"):
        tiny_model(policy_kwargs={"net_arch": [16, 8], "soo_layers": [2]})


def test_kl_is_zero_at_the_reference_and_positive_after_a_change(checkpoint: Path) -> None:
    model = SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), kl_coef=1.0, seed=0, **TINY)
    obs = th.as_tensor(make_vec_env(64, seed=9).reset())
    with th.no_grad():
        assert float(model._kl_to_reference(obs)) == pytest.approx(0.0, abs=1e-7)
        model.policy.action_net.bias.add_(0.5)
        # Same stds, means shifted by 0.5 per action dimension: KL = sum_i 0.5^2 / (2 sigma_i^2).
        expected = float((0.25 / (2 * th.exp(2 * model.policy.log_std))).sum())
        assert float(model._kl_to_reference(obs)) == pytest.approx(expected, rel=1e-4)


def test_save_load_in_a_new_process_predicts_identically_and_keeps_the_reference(
    checkpoint: Path, tmp_path: Path
) -> None:
    reference_copy = tmp_path / "reference.zip"
    reference_copy.write_bytes(checkpoint.read_bytes())
    model = SOOPPO.fine_tune(reference_copy, make_vec_env(8, seed=0), soo_coef=0.5, kl_coef=0.2, seed=0, **TINY)
    model.learn(128)
    saved = tmp_path / "tuned.zip"
    model.save(saved)
    reference_copy.unlink()  # the reference must travel inside the checkpoint, not by path
    obs = make_vec_env(32, seed=11).reset()
    np.save(tmp_path / "obs.npy", obs)
    script = (
        "import numpy as np, torch as th\n"
        "from agents.soo_ppo import SOOPPO\n"
        f"m = SOOPPO.load({str(saved)!r}, device='cpu')\n"
        f"obs = np.load({str(tmp_path / 'obs.npy')!r})\n"
        f"np.save({str(tmp_path / 'actions.npy')!r}, m.predict(obs, deterministic=True)[0])\n"
        "ref = m.reference_policy.state_dict()\n"
        f"th.save(ref, {str(tmp_path / 'ref.pt')!r})\n"
        "print(m.soo_coef, m.kl_coef, m.reference_sha256, m.obs_layout.names)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert str(model.reference_sha256) in out.stdout and "0.5 0.2" in out.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "actions.npy"), model.predict(obs, deterministic=True)[0])
    loaded_reference = th.load(tmp_path / "ref.pt")
    assert model.reference_policy is not None
    assert all(th.equal(loaded_reference[k], v) for k, v in model.reference_policy.state_dict().items())


def test_save_is_atomic_and_adds_zip_suffix(tmp_path: Path) -> None:
    model = tiny_model()
    model.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]


def test_short_learn_logs_soo_keys_to_tensorboard(checkpoint: Path, tmp_path: Path) -> None:
    model = SOOPPO.fine_tune(
        checkpoint, make_vec_env(8, seed=0), soo_coef=1.0, kl_coef=0.1, seed=0, tensorboard_log=str(tmp_path), **TINY
    )
    model.learn(512, tb_log_name="soo")
    events = EventAccumulator(glob.glob(str(tmp_path / "soo_1" / "events*"))[0])
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {"train/soo_loss", "train/soo_distance", "train/kl_ref", "train/soo_pairs", "train/policy_gradient_loss"}
    assert expected <= tags
    assert {"rollout/trap_rate", "rollout/goal_rate", "rollout/ep_rew_mean"} <= tags


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"soo_coef": -0.1}, "soo_coef must be a finite number in \\[0.0, inf\\]"),
        ({"kl_coef": -1.0}, "kl_coef must be a finite number in \\[0.0, inf\\]"),
        ({"soo_coef": float("nan")}, "soo_coef must be a finite number in \\[0.0, inf\\]"),
        ({"kl_coef": 0.5}, "kl_coef > 0 needs a reference policy"),
        ({"soo_distance": "l1"}, "soo_distance must be one of"),
        ({"soo_pair_mode": "shuffled"}, "soo_pair_mode must be one of"),
        ({"soo_inserts_per_self": 0}, "soo_inserts_per_self must be an integer >= 1"),
        ({"soo_max_selves": 0}, "soo_max_selves must be an integer >= 1"),
        ({"soo_radius": -0.2}, "soo_radius must be a finite number in \\(0.0, inf\\]"),
        ({"soo_coef": 1.0, "obs_layout": ObsLayout.from_slots(14, {"self_vel": slice(0, 2)})}, "no other-agent slots"),
        # A layout of the wrong width is reported as such, before its slots are looked for.
        ({"obs_layout": ObsLayout((("self_vel", 2),))}, "covers 2 entries but the learner's observation space has 14"),
    ],
)
def test_bad_settings_fail_clearly(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_model(**kwargs)


def test_soo_without_a_known_layout_fails_clearly() -> None:
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    with pytest.raises(ValueError, match="needs the learner's observation layout"):
        SOOPPO("MlpPolicy", sb3_make_vec_env("Pendulum-v1", n_envs=1), soo_coef=1.0, **TINY)


def test_reference_with_other_spaces_is_rejected(checkpoint: Path) -> None:
    other_world = make_vec_env(8, seed=0, num_landmarks=3)
    with pytest.raises(ValueError, match="observation_space"):
        SOOPPO("MlpPolicy", other_world, reference=checkpoint, kl_coef=1.0, **TINY)


def test_fine_tuning_chains_and_accepts_plain_sb3_checkpoints(checkpoint: Path, tmp_path: Path) -> None:
    first = SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), soo_coef=1.0, kl_coef=0.1, seed=0, **TINY)
    first.save(tmp_path / "first.zip")
    second = SOOPPO.fine_tune(tmp_path / "first.zip", make_vec_env(8, seed=0), kl_coef=0.1, seed=0, **TINY)
    assert same_parameters(second.policy, first.policy)
    assert second.reference_policy is not None and same_parameters(second.reference_policy, first.policy)
    vanilla = PPO("MlpPolicy", make_vec_env(8, seed=0), seed=0, **TINY)
    vanilla.save(tmp_path / "vanilla.zip")
    from_vanilla = SOOPPO.fine_tune(tmp_path / "vanilla.zip", make_vec_env(8, seed=0), soo_coef=1.0, seed=0, **TINY)
    assert same_parameters(from_vanilla.policy, vanilla.policy)
    assert from_vanilla.policy.actor_activations(th.zeros(2, vanilla.observation_space.shape[0])).shape == (2, 32)


def test_reference_outputs_cached_per_rollout_match_a_direct_forward(checkpoint: Path) -> None:
    model = SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), kl_coef=0.5, seed=0, **TINY)
    model.learn(256)
    buffer = model.rollout_buffer
    rows = buffer.last_indices
    obs = th.as_tensor(buffer.observations[rows])
    assert model._reference_means is not None and len(model._reference_means) == buffer.buffer_size * buffer.n_envs
    th.testing.assert_close(model._minibatch_reference_mean(obs), model._reference_mean(obs))


def zero_red_inputs(model: SOOPPO) -> None:
    """Make the actor blind to red's slots: zero the first layer's weights on ``other_rel`` and ``other_visible``."""
    first = model.policy.mlp_extractor.policy_net[0]
    with th.no_grad():
        first.weight[:, model.other_slots.rel] = 0.0
        first.weight[:, model.other_slots.visible] = 0.0


@pytest.mark.parametrize("target", ["actions", "hidden", "lure"])
def test_soo_loss_is_zero_for_a_policy_that_ignores_red_and_positive_for_one_that_uses_it(target: str) -> None:
    model = tiny_model(soo_coef=1.0, soo_target=target, soo_max_selves=None)
    obs = th.as_tensor(model.env.reset())
    obs[:, model.other_slots.rel] = 0.0  # self observations: red out of view
    obs[:, model.other_slots.visible] = 0.0
    assert float(model.soo_loss(obs)) > 0  # random weights read red's slots
    zero_red_inputs(model)
    assert float(model.soo_loss(obs)) == 0.0


@pytest.mark.parametrize("target", ["actions", "hidden", "lure"])
def test_the_training_pass_gives_the_pairs_the_features_of_their_own_forward_pass(target: str) -> None:
    model = tiny_model(soo_coef=1.0, soo_target=target, soo_max_selves=5)
    obs = th.as_tensor(model.env.reset()).repeat(4, 1)
    obs[::2, model.other_slots.rel] = 0.0  # every other row a self observation
    obs[::2, model.other_slots.visible] = 0.0
    pairs = model.soo_pairs(obs)
    assert pairs is not None and len(pairs) == 5
    actions = th.zeros(len(obs), 2)
    features = model.policy.evaluate_actions_and_distribution(obs, actions, pairs, target, model.lure_direction)[4]
    assert features is not None and all(len(f) == len(obs) + len(pairs) for f in features)
    # Pair i compares row self_rows[i] with row len(obs) + i of every feature tensor (one per layer).
    rows = th.cat([pairs.self_rows, th.arange(len(obs), len(obs) + len(pairs))])
    gathered = th.cat([f[rows] for f in features], dim=1)
    expected = model.policy.soo_features(th.cat([pairs.self_obs, pairs.other_obs]), target, lure=model.lure_direction)
    assert th.allclose(gathered, expected, atol=1e-6)


def test_the_actions_target_compares_mean_actions() -> None:
    model = tiny_model(soo_coef=1.0, soo_target="actions")
    obs = th.as_tensor(model.env.reset())
    features = model.policy.soo_features(obs, "actions")
    mean = model.policy.get_distribution(obs).distribution.mean
    assert th.allclose(features, mean) and features.shape == (len(obs), 2)
    hidden = model.policy.soo_features(obs, "hidden")
    assert hidden.shape == (len(obs), 32)


def test_fine_tuning_rescales_the_action_head_and_anchors_to_the_rescaled_policy(checkpoint: Path) -> None:
    source = SOOPPO.load(checkpoint, device="cpu")
    model = SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), action_head_scale=0.3, kl_coef=0.1, **TINY)
    obs = th.as_tensor(model.env.reset())
    with th.no_grad():
        before = source.policy.get_distribution(obs).distribution.mean
        after = model.policy.get_distribution(obs).distribution.mean
    assert th.allclose(after, 0.3 * before, atol=1e-6)  # same directions, means brought towards the box
    assert same_parameters(model.policy, model.reference_policy)  # the anchor is the rescaled policy
    with th.no_grad():
        assert float(model._kl_to_reference(obs)) == pytest.approx(0.0, abs=1e-7)
    with th.no_grad():
        assert float(model._kl_to_reference(obs)) == pytest.approx(0.0, abs=1e-7)
    assert model.action_head_scale == 0.3
    with pytest.raises(ValueError, match="action_head_scale must be a finite number"):
        SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), action_head_scale=0.0, **TINY)
