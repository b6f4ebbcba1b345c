"""AI runs: the run state machine, its jobs, workers, providers and reaper."""
