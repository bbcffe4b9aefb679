"""The SOO math beside the algorithm that uses it (as sb3-contrib keeps ``common/maskable/`` beside
``MaskablePPO``): self/other pairs (``pairs``) and their distances (``distances``), the pairs of a whole rollout
(``rollout_pairs``) and the rollout buffer that says which rows a minibatch holds (``rollout_buffer``), the KL
anchor's closed form (``kl``), what ``SOOPPO`` reads of its env (``env``) and the named settings (``presets``)."""
