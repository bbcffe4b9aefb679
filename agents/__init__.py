"""PPO agents with an auxiliary Self-Other Overlap (SOO) loss, and policy adapters."""
