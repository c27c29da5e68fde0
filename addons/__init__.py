"""Rasa plug-ins: NLU components, input channels and the tracker store."""
