"""Schedules: the rules a job runs by (pure: time zones and cron fields, nothing of the app)."""
