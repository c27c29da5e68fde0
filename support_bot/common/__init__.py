"""What several commands share: project paths, errors, progress output, the time window,
text normalisation, Rasa NLU files (training data and the label file) and running ``rasa``."""
