"""The SOO study, in layers (each imports only from the layers below it; ``lint-imports`` checks):

- ``measurement``: metrics of recorded episodes, the SOO value, the awareness probe, detection, statistics;
- ``experiment``: settings, the table of conditions, paths and fingerprints, training, the job graph, sweeps,
  results;
- ``runner``: where jobs run (the scheduler's local process pool, Ray);
- ``report``: pure functions from results to ``report.md``, tables and plots;
- ``cli``: the command lines (``train/*.py``) that tie them together.
"""
