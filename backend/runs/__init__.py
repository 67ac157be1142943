"""Run orchestration around the engine: service (web side), execute (worker side), journal, parts, progress."""
