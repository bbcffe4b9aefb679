"""Pieces for any PettingZoo environment: observation layouts and the SOO declaration (``layout``), an observation
radius (``observation_radius``), one shared policy over PettingZoo envs as an SB3 ``VecEnv`` (``shared_vec_env``),
batched policies and MPE's discrete moves (``actions``), boundary checks (``validation``) and atomic writes
(``io``). Nothing here knows the suite's own worlds."""
