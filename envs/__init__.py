"""Red/blue physical-deception environments on one batched numpy core."""
