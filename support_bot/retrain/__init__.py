"""``support-bot retrain``: validate, train a candidate, evaluate it and promote it only if
it is not worse than the current model."""
