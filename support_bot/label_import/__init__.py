"""``support-bot import``: check a labelled file and merge its examples into data/nlu."""
