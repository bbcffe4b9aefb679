"""The experiment: settings, conditions (a new condition goes in ``conditions.py``), paths, training, jobs, sweeps."""
