"""``support-bot evaluate``: ``rasa test nlu`` of a model (and its baseline) and summary.md."""
