"""Which browser pages may talk to the chat: ``CHAT_ALLOWED_ORIGINS``.

Read by the socket.io channel (which origins may open a socket) and by the
server's start-up (Rasa's ``--cors``), so that both allow the same pages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def allowed_origins(env: Mapping[str, str] | None = None) -> list[str]:
    """The configured origins, space or comma separated; ``*`` is never taken."""
    env = os.environ if env is None else env
    raw = (env.get("CHAT_ALLOWED_ORIGINS") or "").replace(",", " ").split()
    return [origin.rstrip("/") for origin in raw if origin != "*"]
