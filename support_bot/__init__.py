"""The maintainers' loop: export what the assistant got wrong, label it, import it,
retrain, evaluate, promote, and report on how conversations went.

Entry point: the ``support-bot`` console script (:mod:`support_bot.cli`).
"""
