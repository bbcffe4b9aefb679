"""The suite's red/blue physical-deception worlds on one batched numpy core: presets and held-out variants,
scripted policies, a PettingZoo face (``deception_v0``), an SB3 ``VecEnv`` face, recording, rendering and
animations."""
