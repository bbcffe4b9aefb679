"""Command lines: ``train/ppo_soo.py``, ``train/sweep.py`` and ``train/render.py`` call the ``main`` functions here."""
