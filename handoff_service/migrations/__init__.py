"""Alembic migrations of the handoff service (run by ``handoff-service db upgrade``)."""
