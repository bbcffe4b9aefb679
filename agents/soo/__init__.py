"""The SOO math beside the algorithm that uses it (as sb3-contrib keeps ``common/maskable/`` beside
``MaskablePPO``): self/other pairs and their distances."""
