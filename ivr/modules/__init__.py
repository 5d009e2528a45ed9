"""Voice-menu actions, one per module, registered in ivr/routes.py."""
