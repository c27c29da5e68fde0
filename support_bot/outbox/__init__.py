"""``support-bot outbox``: list and retry what the action server could not deliver."""
