"""Reading the conversation stores: Rasa's SQL tracker store and the handoff service's
ticket database (used by ``export`` and ``report``)."""
