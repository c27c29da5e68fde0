"""Input channels that remove secrets before Rasa sees a message."""
