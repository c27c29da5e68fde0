"""Plain-Python building blocks shared by the NLU add-ons, the channels and the actions.

Nothing here imports Rasa, so every piece is cheap to unit-test.
"""
