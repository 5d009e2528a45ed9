"""The web console for agents, duty judges, departments, leaders and administrators.

Not built yet: the office-hours issue brings it (FastAPI, zh-CN pages, roles).
"""
