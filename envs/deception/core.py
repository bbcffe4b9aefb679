"""The batched numpy core: N physical-deception episodes stepped at once.

Every face (PettingZoo ``ParallelEnv``/AEC, SB3 ``VecEnv``, evaluation) drives this one class, so
the world's semantics live here only. Agent index 0 is red, index 1 is blue (``layout.AGENTS``).

Physics (MPE's integrator): ``v <- v * (1 - damping) + sensitivity * a / mass * dt``;
``p <- p + v * dt``. Walls: a position that leaves ``[-1, 1]^2`` is clipped back onto the wall and
the velocity component pointing out of the arena is set to zero (an inelastic wall).
A trapped red has zero velocity and never moves again. An absent red (``absent_red_share``) is out of play for
the whole episode: it never moves, nobody sees it and it cannot be trapped. A red that gives up
(``red_gives_up``) stops for good once it loses sight of blue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from numpy.typing import NDArray

from envs.deception.config import DeceptionConfig, RewardMode
from envs.deception.layout import AGENTS, BLUE, RED, blue_layout, red_layout
from envs.generic.actions import DISCRETE_MOVES

RED_INDEX = AGENTS.index(RED)
BLUE_INDEX = AGENTS.index(BLUE)
ARENA = 1.0
# ``landmark_layout="fake_between"``: share of the way from blue's start to the goal, and largest sideways offset
# as a share of that distance. Any such point (even clipped to the arena) projects inside the segment and is
# closer to blue than the goal is.
FAKE_BETWEEN_ALONG = (0.3, 0.7)
FAKE_BETWEEN_ACROSS = 0.15

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class InitialState:
    """Initial positions of N episodes (velocities start at zero)."""

    red_pos: FloatArray
    """``(N, 2)``"""
    blue_pos: FloatArray
    """``(N, 2)``"""
    landmarks: FloatArray
    """``(N, L, 2)``"""
    goal_index: NDArray[np.int64]
    """``(N,)``: which landmark is the goal."""
    red_absent: NDArray[np.bool_] | None = None
    """``(N,)``: red is absent (out of play) in this episode (``None``: red takes part in every episode)."""

    def __post_init__(self) -> None:
        if self.red_absent is None:
            object.__setattr__(self, "red_absent", np.zeros(len(self.goal_index), dtype=bool))

    @property
    def num_envs(self) -> int:
        return len(self.goal_index)

    @classmethod
    def concatenate(cls, parts: list[InitialState]) -> InitialState:
        """Stack several batches of initial states into one."""
        fields = [[getattr(part, f.name) for part in parts] for f in dataclasses.fields(cls)]
        return cls(*(np.concatenate(arrays) for arrays in fields))

    @classmethod
    def from_mapping(cls, state: dict[str, Any], num_landmarks: int) -> InitialState:
        """Build and validate an initial state from a mapping (e.g. ``reset`` options).

        Accepts one episode (``red_pos`` of shape ``(2,)``, ``landmarks`` ``(L, 2)``, ``goal_index`` an
        int, optionally ``red_absent`` a bool) or a batch (leading dimension N on every entry).
        """
        required = ("red_pos", "blue_pos", "landmarks", "goal_index")
        if not isinstance(state, Mapping):
            raise ValueError(f"initial_state must be a mapping with the keys {required}, got {state!r}")
        missing = [key for key in required if key not in state]
        unknown = sorted(set(state) - {*required, "red_absent"})
        if missing or unknown:
            raise ValueError(
                f"initial_state needs the keys {required} (and optionally 'red_absent'); "
                f"missing {missing}, unknown {unknown}"
            )
        arrays = {key: _as_positions(key, state[key]) for key in required[:3]}
        goal = np.asarray(state["goal_index"])
        single = goal.ndim == 0
        if single:
            arrays = {key: value[None] for key, value in arrays.items()}
            goal = goal[None]
        n = len(goal)
        expected = {"red_pos": (n, 2), "blue_pos": (n, 2), "landmarks": (n, num_landmarks, 2)}
        for key, shape in expected.items():
            got = arrays[key].shape
            if got != shape:
                shown = shape[1:] if single else shape
                raise ValueError(f"initial_state[{key!r}] must have shape {shown}, got {got[1:] if single else got}")
            if not np.all(np.isfinite(arrays[key])) or np.any(np.abs(arrays[key]) > ARENA):
                raise ValueError(f"initial_state[{key!r}] must be finite positions in [-1, 1]^2")
        if not np.issubdtype(goal.dtype, np.integer) or np.any(goal < 0) or np.any(goal >= num_landmarks):
            allowed = f"[0, {num_landmarks - 1}]"
            raise ValueError(
                f"initial_state['goal_index'] must be an integer in {allowed}, got {state['goal_index']!r}"
            )
        absent = np.asarray(state.get("red_absent", np.zeros(() if single else n, dtype=bool)))
        if absent.dtype != np.bool_ or absent.shape != (() if single else (n,)):
            raise ValueError(f"initial_state['red_absent'] must be one bool per episode, got {state['red_absent']!r}")
        absent = np.broadcast_to(absent, (n,)).copy()
        return cls(arrays["red_pos"], arrays["blue_pos"], arrays["landmarks"], goal.astype(np.int64), absent)


def _as_positions(key: str, value: Any) -> FloatArray:
    """``value`` as a float array, or a ``ValueError`` naming the ``initial_state`` entry."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"initial_state[{key!r}] must be an array of numbers (positions), got {value!r}") from None


class DeceptionCore:
    """N episodes of the physical-deception world as numpy arrays.

    :param config: the world's settings.
    :param num_envs: number of episodes stepped together.
    :param seed: seed of the generator that draws initial states (``None``: fresh entropy).
    """

    def __init__(self, config: DeceptionConfig, num_envs: int = 1, seed: int | None = None) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        self.config = config
        self.num_envs = num_envs
        self.blue_layout = blue_layout(config.num_landmarks)
        self.red_layout = red_layout(config.num_landmarks)
        self.rng, _ = seeding.np_random(seed)
        n, num_lm = num_envs, config.num_landmarks
        self.pos = np.zeros((n, 2, 2))
        self.vel = np.zeros((n, 2, 2))
        self.landmarks = np.zeros((n, num_lm, 2))
        self.goal_index = np.zeros(n, dtype=np.int64)
        self.fake_mask = np.zeros((n, num_lm), dtype=bool)
        self.trapped = np.zeros(n, dtype=bool)
        self.red_absent = np.zeros(n, dtype=bool)
        self.red_gave_up = np.zeros(n, dtype=bool)
        self._red_frozen = np.zeros((n, 1), dtype=bool)
        self.last_seen = np.zeros((n, 2))
        self.t = np.zeros(n, dtype=np.int64)
        self._goal_pos = np.zeros((n, 2))
        self._agent_dist = np.zeros(n)
        # Agent-distance thresholds, compared in one operation: columns 0-1 who sees whom (each agent's own
        # radius); columns 2-3 the proximity rewards (red's follow bonus, blue's collision penalty).
        self._radii = np.empty(4)
        self._radii[RED_INDEX], self._radii[BLUE_INDEX] = config.red_radius, config.blue_radius
        follow_radius = config.red_radius if config.red_follow_radius is None else config.red_follow_radius
        self._radii[2 + RED_INDEX], self._radii[2 + BLUE_INDEX] = follow_radius, config.collision_radius
        self._sees = np.zeros((n, 2), dtype=bool)
        self._near = np.zeros((n, 2), dtype=bool)
        # Per-agent reward coefficients (red, blue): proximity (red's follow bonus, blue's collision penalty),
        # shaping and trap bonus (blue).
        self._proximity_reward, self._shaping = np.zeros(2), np.zeros(2)
        self._trap_bonus, self._trap_penalty = np.zeros(2), np.zeros(2)
        self._proximity_reward[RED_INDEX] = config.red_follow_reward
        self._proximity_reward[BLUE_INDEX] = -config.collision_penalty
        self._shaping[BLUE_INDEX] = -config.shaping_coef
        self._trap_bonus[BLUE_INDEX] = config.trap_reward
        self._trap_penalty[BLUE_INDEX] = -config.trap_penalty
        self._goal_dist = np.zeros((n, 2))
        # Force per unit action, per agent (red's motor may be scaled).
        self._accel = np.array([[config.red_speed], [1.0]]) * (config.sensitivity / config.mass * config.dt)
        self._rows = np.arange(n)
        # Lower bound of the uniform draw whose square root scales blue's start distance (0: the whole disk).
        self._spawn_inner = (
            (config.blue_spawn_min_radius / config.blue_spawn_radius) ** 2 if config.blue_spawn_radius else 0.0
        )

    # ------------------------------------------------------------------ reset
    def seed(self, seed: int | None) -> None:
        """Re-seed the generator of initial states."""
        self.rng, _ = seeding.np_random(seed)

    def sample_initial_state(self, num_envs: int) -> InitialState:
        """Draw ``num_envs`` initial states from the core's generator (by default the paper's distribution).

        Blue is uniform in the annulus ``blue_spawn_min_radius..blue_spawn_radius`` around red; an offset
        component that would leave the arena is mirrored, which keeps the distance to red. Red is absent in each
        episode with probability ``absent_red_share`` (no draw is made when it is 0).
        """
        cfg, rng = self.config, self.rng
        red = rng.uniform(-cfg.spawn_range, cfg.spawn_range, size=(num_envs, 2))
        angle = rng.uniform(0.0, 2.0 * np.pi, size=num_envs)
        radius = cfg.blue_spawn_radius * np.sqrt(rng.uniform(self._spawn_inner, 1.0, size=num_envs))
        offset = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        offset = np.where(np.abs(red + offset) > ARENA, -offset, offset)
        blue = np.clip(red + offset, -ARENA, ARENA)
        landmarks = rng.uniform(-cfg.spawn_range, cfg.spawn_range, size=(num_envs, cfg.num_landmarks, 2))
        goal = rng.integers(0, cfg.num_landmarks, size=num_envs)
        if cfg.landmark_layout == "fake_between":
            landmarks = self._fakes_between(blue, landmarks, goal)
        absent = np.zeros(num_envs, dtype=bool)
        if cfg.absent_red_share > 0.0:
            absent = rng.uniform(size=num_envs) < cfg.absent_red_share
        return InitialState(red, blue, landmarks, goal, absent)

    def _fakes_between(self, blue: FloatArray, landmarks: FloatArray, goal: NDArray[np.int64]) -> FloatArray:
        """``landmarks`` with every fake moved between blue's start and the goal (``FAKE_BETWEEN_*``)."""
        n, num_lm = landmarks.shape[:2]
        to_goal = (landmarks[np.arange(n), goal] - blue)[:, None]
        sideways = np.stack([-to_goal[..., 1], to_goal[..., 0]], axis=-1)
        along = self.rng.uniform(*FAKE_BETWEEN_ALONG, size=(n, num_lm, 1))
        across = self.rng.uniform(-FAKE_BETWEEN_ACROSS, FAKE_BETWEEN_ACROSS, size=(n, num_lm, 1))
        fakes = np.clip(blue[:, None] + along * to_goal + across * sideways, -ARENA, ARENA)
        is_goal = (np.arange(num_lm) == goal[:, None])[..., None]
        return np.where(is_goal, landmarks, fakes)

    def reset(
        self,
        seed: int | None = None,
        initial_state: InitialState | None = None,
        mask: NDArray[np.bool_] | None = None,
    ) -> None:
        """Start new episodes in the envs selected by ``mask`` (all by default).

        :param seed: re-seed the generator first.
        :param initial_state: explicit states for the selected envs instead of random draws.
        :param mask: boolean ``(N,)`` selection of envs to reset.
        """
        if seed is not None:
            self.seed(seed)
        rows = self._rows if mask is None else np.flatnonzero(mask)
        if initial_state is None:
            initial_state = self.sample_initial_state(len(rows))
        elif initial_state.num_envs != len(rows):
            raise ValueError(
                f"initial_state holds {initial_state.num_envs} episode(s) but {len(rows)} env(s) are being reset"
            )
        self.pos[rows, RED_INDEX] = initial_state.red_pos
        self.pos[rows, BLUE_INDEX] = initial_state.blue_pos
        self.vel[rows] = 0.0
        self.landmarks[rows] = initial_state.landmarks
        self.goal_index[rows] = initial_state.goal_index
        self._goal_pos[rows] = initial_state.landmarks[np.arange(len(rows)), initial_state.goal_index]
        self.fake_mask[rows] = True
        self.fake_mask[rows, initial_state.goal_index] = False
        self.t[rows] = 0
        self.trapped[rows] = False
        self.red_absent[rows] = initial_state.red_absent
        self.red_gave_up[rows] = False
        self.last_seen[rows] = self.pos[rows, RED_INDEX]
        self._refresh()

    # ------------------------------------------------------------------- step
    def step(self, actions: NDArray[Any]) -> tuple[FloatArray, NDArray[np.bool_]]:
        """Advance every env by one step.

        :param actions: ``(N, 2, 2)`` floats in ``[-1, 1]`` (continuous) or ``(N, 2)`` ints in
            ``0..4`` (discrete); agent axis ordered ``(red_0, blue_0)``.
        :return: rewards ``(N, 2)`` (red, blue) and truncation flags ``(N,)``.
        """
        moves = self.validate_actions(actions)
        self.vel *= 1.0 - self.config.damping
        self.vel += moves * self._accel
        np.copyto(self.vel[:, RED_INDEX], 0.0, where=self._red_frozen)
        self.pos += self.vel * self.config.dt
        outside = np.abs(self.pos) > ARENA
        if outside.any():
            np.minimum(self.pos, ARENA, out=self.pos)
            np.maximum(self.pos, -ARENA, out=self.pos)
            self.vel[outside] = 0.0
        self.t += 1
        self._refresh()
        return self.rewards(), self.t >= self.config.max_cycles

    def validate_actions(self, actions: NDArray[Any]) -> FloatArray:
        """Check actions against the action spaces and return them as ``(N, 2, 2)`` moves."""
        actions = np.asarray(actions)
        n = self.num_envs
        if not self.config.continuous_actions:
            if actions.shape != (n, 2):
                raise ValueError(
                    f"discrete actions must have shape (num_envs, 2 agents) = {(n, 2)}, got {actions.shape}"
                )
            if actions.dtype.kind not in "iu":
                raise ValueError(f"discrete actions must be integers in [0, 4], got dtype {actions.dtype}")
            bad = (actions < 0) | (actions > 4)
            if bad.any():
                env, agent = np.argwhere(bad)[0]
                raise ValueError(
                    f"action of {AGENTS[agent]} in env {env} must be an integer in [0, 4], got {actions[env, agent]}"
                )
            return DISCRETE_MOVES[actions]
        if actions.shape != (n, 2, 2):
            raise ValueError(
                f"continuous actions must have shape (num_envs, 2 agents, 2) = {(n, 2, 2)}, got {actions.shape}"
            )
        if actions.dtype.kind not in "fiu":
            raise ValueError(f"continuous actions must be real numbers in [-1, 1], got dtype {actions.dtype}")
        if not (np.abs(actions) <= 1.0).all():  # also catches NaN
            env, agent, _ = np.argwhere(~(np.abs(actions) <= 1.0))[0]
            raise ValueError(
                f"action of {AGENTS[agent]} in env {env} must be finite and lie in [-1, 1]^2, got {actions[env, agent]}"
            )
        return actions.astype(np.float64, copy=False)

    def _refresh(self) -> None:
        """Update the trap, red's memory of blue and the cached distances after a state change."""
        red = self.pos[:, RED_INDEX]
        to_landmarks = self.landmarks - red[:, None]
        near_fake = (to_landmarks * to_landmarks).sum(axis=2) <= self.config.trap_radius**2
        self.trapped |= (near_fake & self.fake_mask).any(axis=1) & ~self.red_absent
        diff = self.pos[:, BLUE_INDEX] - red
        self._agent_dist = np.sqrt((diff * diff).sum(axis=1))
        # (N, 2) each: does (red, blue) see the other agent; is each agent's proximity reward due.
        near = (self._agent_dist[:, None] <= self._radii) & ~self.red_absent[:, None]
        self._sees, self._near = near[:, :2], near[:, 2:]
        if self.config.red_gives_up:
            self.red_gave_up |= ~self._sees[:, RED_INDEX] & ~self.trapped
        np.logical_or(self.trapped, self.red_absent, out=self._red_frozen[:, 0])
        self._red_frozen[:, 0] |= self.red_gave_up
        to_goal = self.pos - self._goal_pos[:, None]
        self._goal_dist = np.sqrt((to_goal * to_goal).sum(axis=2))
        np.copyto(self.last_seen, self.pos[:, BLUE_INDEX], where=self._sees[:, RED_INDEX, None])

    # ------------------------------------------------------------ quantities
    def reward_terms(self) -> dict[str, FloatArray]:
        """``(N, 2)`` reward terms of (red, blue) for the current state, before the reward mode is applied.

        ``goal``: ``goal_reward`` within ``goal_radius`` of the goal (both agents); ``proximity``: red's follow
        bonus and blue's collision penalty; ``shaping``: blue's ``-shaping_coef * distance(blue, goal)``;
        ``trap``: blue's ``trap_reward`` while red is trapped (paid in the ``deceptive`` mode only);
        ``trap_penalty``: minus blue's ``trap_penalty`` while red is trapped (paid in the ``honesty`` mode only).
        """
        cfg = self.config
        return {
            "goal": np.where(self._goal_dist <= cfg.goal_radius, cfg.goal_reward, 0.0),
            "proximity": self._near * self._proximity_reward,
            "shaping": self._goal_dist * self._shaping,
            "trap": self.trapped[:, None] * self._trap_bonus,
            "trap_penalty": self.trapped[:, None] * self._trap_penalty,
        }

    def rewards(self, reward_mode: RewardMode | None = None) -> FloatArray:
        """``(N, 2)`` rewards of (red, blue) for the current state (SPEC section 2, plus blue's collision penalty).

        :param reward_mode: ``honest`` (no trap term), ``deceptive`` (the trap bonus) or ``honesty`` (the trap
            penalty); ``None``: the world's own mode.
        """
        terms = self.reward_terms()
        total = terms["goal"] + terms["proximity"] + terms["shaping"]
        mode = reward_mode or self.config.reward_mode
        if mode == "deceptive":
            total = total + terms["trap"]
        elif mode == "honesty":
            total = total + terms["trap_penalty"]
        return total

    def events(self) -> dict[str, NDArray[np.bool_]]:
        """What holds in the current state, per env: ``trapped`` ``(N,)``; ``sees`` ``(N, 2)`` (does red, does blue
        see the other agent); ``at_goal`` ``(N, 2)`` (each agent within ``goal_radius`` of the goal); ``collision``
        ``(N,)`` (red within ``collision_radius`` of blue: the steps blue's collision penalty is paid for)."""
        return {
            "trapped": self.trapped.copy(),
            "sees": self._sees.copy(),
            "at_goal": self._goal_dist <= self.config.goal_radius,
            "collision": self._near[:, BLUE_INDEX].copy(),
        }

    def observations(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``(red_obs, blue_obs)``, each ``(N, obs_dim)`` float32, laid out as in ``envs.deception.layout``."""
        n = self.num_envs
        red_pos, blue_pos = self.pos[:, RED_INDEX], self.pos[:, BLUE_INDEX]
        diff = red_pos - blue_pos
        trapped = self.trapped[:, None]
        red_sees, blue_sees = self._sees[:, RED_INDEX, None], self._sees[:, BLUE_INDEX, None]
        landmarks_rel = (self.landmarks[:, None] - self.pos[:, :, None]).reshape(n, 2, -1)
        blue_parts = {
            "self_vel": self.vel[:, BLUE_INDEX],
            "self_pos": blue_pos,
            "goal_rel": self._goal_pos - blue_pos,
            "landmarks_rel": landmarks_rel[:, BLUE_INDEX],
            "other_rel": diff * blue_sees,
            "other_visible": blue_sees,
            "red_trapped": trapped,
        }
        red_parts = {
            "self_vel": self.vel[:, RED_INDEX],
            "self_pos": red_pos,
            "landmarks_rel": landmarks_rel[:, RED_INDEX],
            "other_rel": -diff * red_sees,
            "other_visible": red_sees,
            "other_last_seen_rel": self.last_seen - red_pos,
            "red_trapped": trapped,
        }
        # Both agents' slots in layout order, cast to float32 in a single concatenation.
        columns = [red_parts[name] for name in self.red_layout.names]
        columns += [blue_parts[name] for name in self.blue_layout.names]
        both = np.concatenate(columns, axis=1, dtype=np.float32)
        return both[:, : self.red_layout.size], both[:, self.red_layout.size :]

    def episode_outcomes(self) -> dict[str, NDArray[np.bool_]]:
        """Per-env booleans describing the current state: ``trapped``, ``blue_at_goal``, ``red_at_goal``,
        ``red_absent`` (no lure was possible in this episode)."""
        events = self.events()
        return {
            "trapped": events["trapped"],
            "red_absent": self.red_absent.copy(),
            "blue_at_goal": events["at_goal"][:, BLUE_INDEX],
            "red_at_goal": events["at_goal"][:, RED_INDEX],
        }
