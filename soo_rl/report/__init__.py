"""Reports: pure functions from results to ``report.md``, console tables and plots."""
