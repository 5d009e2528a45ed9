"""Core of the 12368 hotline: settings, database, working-day calendar, PBX control.

Every part of the call's journey (ivr/, recordings/, agent_console/, scheduler/) imports
this package; none reaches into another part's internals.
"""
