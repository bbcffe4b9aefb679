"""Where the experiment's jobs run: the scheduler over a backend (local processes, Ray); a new backend goes here."""
