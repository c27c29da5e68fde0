"""Say so when the action server cannot run an action, instead of saying nothing.

Rasa 3.6 logs a custom action that fails to run (action server down, 5xx,
timeout) and carries on as if it had returned no events: the user's message
is kept in the tracker, but the user sees no answer at all. This wraps
``RemoteAction.run`` so that such a failure adds one bot message, the
``utter_chat_unavailable`` response in the conversation's language, telling
the user their words are kept. A rejection by the action itself
(``ActionExecutionRejection``, e.g. a form slot validation) is not an outage
and passes through unchanged.

When the handoff is active the relay catches up on the messages written
meanwhile as soon as the action server is back
(:func:`actions.live_handoff.unrelayed_messages`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

OUTAGE_RESPONSE = "utter_chat_unavailable"
_INSTALLED = "_outage_notice_installed"


async def _outage_notice(
    action_name: str, output_channel: Any, nlg: Any, tracker: Any
) -> list[Any]:
    """The bot message that tells the user, or nothing if the response cannot be rendered."""
    try:
        generated = await nlg.generate(OUTAGE_RESPONSE, tracker, output_channel.name())
    except Exception:
        logger.exception("could not render %s after %s failed", OUTAGE_RESPONSE, action_name)
        return []
    if not generated:
        return []
    return [create_bot_utterance(generated)]


def install() -> None:
    """Wrap ``RemoteAction.run`` once per process (idempotent)."""
    if getattr(RemoteAction, _INSTALLED, False):
        return
    original = RemoteAction.run

    @functools.wraps(original)
    async def run(
        self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> list[Any]:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException as error:
            logger.error(
                "action %s could not run (%s); the user is told their message is kept",
                self.name(), error,
            )
            return await _outage_notice(self.name(), output_channel, nlg, tracker)

    RemoteAction.run = run  # type: ignore[method-assign]
    setattr(RemoteAction, _INSTALLED, True)
