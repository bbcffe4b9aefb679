"""PettingZoo MPE2 (``pip install mpe2``) on the generic pieces: the observation layouts of its scenarios
(``layouts``) and ``simple_adversary_v3`` as a physical-deception world (``simple_adversary``)."""
