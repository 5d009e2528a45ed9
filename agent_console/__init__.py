"""The web console for agents, duty judges, departments, leaders and administrators.

`create_app` (agent_console.app) wires it; `register` (agent_console.cli) adds the
`hotline user ...` and `hotline console` commands.
"""
