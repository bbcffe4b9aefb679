"""Environments in three rooms: ``envs.deception`` (the suite's red/blue physical-deception worlds),
``envs.generic`` (what any PettingZoo environment needs for SOO: layouts, an observation radius, a shared-policy
SB3 ``VecEnv``, batched policies) and ``envs.mpe2`` (PettingZoo MPE2's scenarios on the generic pieces).
``envs.generic`` imports neither of the other rooms."""
