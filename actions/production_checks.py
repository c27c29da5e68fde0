"""What the action server refuses in the production profile (``PROFILE=production``).

The actions open tickets in the handoff service and relay what the user
writes; in production the service is another host and its bot token is a
shared secret, so both must be given. A ticket outbox in a local SQLite file
(``OUTBOX_PATH``, or a SQLite ``OUTBOX_URL``) is a known gap, reported as a
warning, not a refusal, until every deployment shares one. Pure functions of
the environment; the check runs when the server is started through
``python -m addons.server run actions``, never at import (the action server
imports this package and builds every action once).
"""

from __future__ import annotations

from collections.abc import Mapping

from actions.handoff_client import DEFAULT_URL
from actions.outbox import DEFAULT_PATH
from support_core.production import (
    BOT_TOKEN_ENV,
    HANDOFF_URL_ENV,
    Problem,
    collect,
    required,
)

OUTBOX_PATH_ENV = "OUTBOX_PATH"
# A database URL for the outbox, shared by every action server when it is not SQLite.
OUTBOX_URL_ENV = "OUTBOX_URL"


def action_server_problems(env: Mapping[str, str]) -> list[Problem]:
    """Everything production refuses for ``rasa run actions``."""
    return collect(
        required(
            env,
            HANDOFF_URL_ENV,
            f"tickets would go to {DEFAULT_URL}, this machine; give the service's URL",
        ),
        required(
            env,
            BOT_TOKEN_ENV,
            "the handoff service would refuse every ticket; give it the service's bot token",
        ),
    )


def action_server_warnings(env: Mapping[str, str]) -> list[Problem]:
    """Known production gaps that do not stop the server: an outbox on this replica only."""
    url = (env.get(OUTBOX_URL_ENV) or "").strip()
    if url and not url.lower().startswith("sqlite"):
        # A shared outbox (the work that replaces the local file) leaves nothing to say.
        return []
    where = url or (env.get(OUTBOX_PATH_ENV) or "").strip() or DEFAULT_PATH
    return [
        Problem(
            OUTBOX_URL_ENV if url else OUTBOX_PATH_ENV,
            f"{OUTBOX_URL_ENV if url else OUTBOX_PATH_ENV}: the outbox is a local SQLite file "
            f"({where}); tickets and messages waiting for the handoff service stay on this "
            "replica and are lost with its disk",
        )
    ]
