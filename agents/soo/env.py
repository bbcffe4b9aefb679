"""What ``SOOPPO`` reads of the env it trains on: the learner's declared ``SOOView``, and raw observations.

An env declares the learner's layout and radius in one attribute, ``soo_view`` (``envs.generic.layout.SOOView``), read
with SB3's ``VecEnv.get_attr``: the suite's worlds, ``envs.generic.observation_radius.ObservationRadius`` (through
``envs.generic.shared_vec_env.SharedPolicyVecEnv``) and any gymnasium env that sets it.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.vec_env import VecEnv, unwrap_vec_normalize

from agents.soo.pairs import OtherSlots
from envs.generic.layout import SOO_VIEW, SOOView


def declared_view(env: VecEnv | None) -> SOOView | None:
    """The learner's ``SOOView`` that ``env`` declares (``env.get_attr("soo_view")``), or ``None`` if it declares none.

    :param env: the training env (``None``: none).
    :raises ValueError: if a declaration is not a ``SOOView``, or two of its envs declare views that differ in the
        other agent's slots, the observation size or the radius (one policy needs one view).
    """
    if env is None or not env.has_attr(SOO_VIEW):  # has_attr: a SubprocVecEnv's workers survive the question
        return None
    views = env.get_attr(SOO_VIEW)
    first = views[0]
    for index, view in enumerate(views):
        if not isinstance(view, SOOView):
            raise ValueError(f"the env's {SOO_VIEW} must be an envs.generic.layout.SOOView, got {view!r} (env {index})")
        if view != first and _what_soo_reads(view) != _what_soo_reads(first):
            raise ValueError(
                f"env {index} declares {SOO_VIEW} {view} but env 0 declares {first}: the learners of one policy "
                "need the same other-agent slots and radius"
            )
    return first


def _what_soo_reads(view: SOOView) -> tuple[Any, ...]:
    return view.radius, view.layout.size, OtherSlots.from_layout(view.layout)


def check_raw_observations(env: VecEnv | None) -> None:
    """Refuse an env whose observations are normalised (``VecNormalize(norm_obs=True)``): SOO builds its pairs on
    raw observations (the other agent inserted at a raw position, its visibility bit set to 1).

    :raises ValueError: naming the fix.
    """
    normalize = None if env is None else unwrap_vec_normalize(env)
    if normalize is not None and normalize.norm_obs:
        raise ValueError(
            "SOO builds its pairs on raw observations, but the env is wrapped in VecNormalize(norm_obs=True): "
            "use VecNormalize(norm_obs=False) (normalised rewards are fine)"
        )
