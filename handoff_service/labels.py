"""Display names of the service's values, in the console's language (English).

The console shows them (through :mod:`handoff_service.console_config`) and the
transcript's system lines use them (:mod:`handoff_service.services.system_lines`),
so an agent reads one name for one thing everywhere. A value without a label
is shown as it is.
"""

from __future__ import annotations

CATEGORY_LABELS = {
    "account": "Account",
    "assets": "Assets",
    "trading": "Trading",
    "technical": "Technical",
    "security": "Security",
    "policy": "Rules & appeals",
}
ESCALATION_REASON_LABELS = {
    "requested_human": "User asked for a human",
    "self_help_failed": "Self-help did not solve it",
    "fallback": "Assistant did not understand twice",
    "security": "Security emergency",
}
# Ticket fields as the system line "Details added: ..." names them (the text
# and the parsed time of the same fact share one name).
FIELD_LABELS = {
    "title": "title",
    "description": "description",
    "contact_email": "contact e-mail",
    "tx_hash": "tx hash",
    "wallet_address": "wallet address",
    "chain": "network",
    "occurred_at_text": "when it happened",
    "occurred_at": "when it happened",
    "amount": "amount",
    "summary": "summary",
}


def label(labels: dict[str, str], value: str) -> str:
    """The label of ``value`` in ``labels``, or ``value`` itself."""
    return labels.get(value, value)
