"""Timed jobs: working-day escalation, callbacks, reports, retention.

Not built yet: the tickets issue brings it (APScheduler 3.11, one process).
"""
