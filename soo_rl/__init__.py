"""Self-Other Overlap (SOO): self/other pairs, distances, metrics, the experiment pipeline and reports."""
