"""Timed work, in one process (`python -m scheduler`, started by `hotline up`): the
escalation of overdue tickets, sending SMS, post-processing and keeping recordings.

Every job is listed once in scheduler/jobs.py. Jobs keep their own state in the database
(deadlines on the tickets, an SMS's next attempt, a recording's processing state), never
in APScheduler's job store, which is not safe with two processes; so a job may run again,
late, or twice, and must do each thing exactly once all the same.
"""
