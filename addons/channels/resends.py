"""A message sent again after a lost acknowledgement is handled at most once.

When a connection drops between ``user_uttered`` and its acknowledgement (a
replica killed mid-turn, a phone changing networks), the client cannot know
whether the server handled the message. The widget then sends it again with
the same client id and ``resend: true``. Rasa's own ``Agent.handle_message``
would handle the copy as a new turn. Here the check and the turn share the
conversation's lock: a copy whose id is already in the tracker is dropped,
whether the first copy finished before the check or, on another replica,
while the copy waited for the lock. The reply the user missed is in the
history the client asks for after reconnecting.

Only messages flagged as resends pay for the extra tracker read.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import UserUttered

logger = logging.getLogger(__name__)


def is_resend(data: dict[str, Any]) -> bool:
    """Whether the client marked this ``user_uttered`` as a copy of one it sent before."""
    return data.get("resend") is True


def already_handled(tracker: Any, message_id: str) -> bool:
    """Whether ``tracker`` holds a user message with the client's ``message_id``."""
    if tracker is None:
        return False
    return any(
        isinstance(event, UserUttered) and event.message_id == message_id
        for event in tracker.events
    )


async def handle_once(agent: Any, message: UserMessage) -> bool:
    """Handle ``message`` unless the tracker already has its id; True when it was a duplicate.

    The same steps as Rasa's ``Agent.handle_message`` (ready check, the
    conversation's lock, the processor), with the duplicate check inside the
    lock so that two copies racing on two replicas cannot both pass it.
    """
    if agent is None or not agent.is_ready():
        logger.info("Ignoring a message: the model is not loaded")
        return False
    async with agent.lock_store.lock(message.sender_id):
        if message.message_id:
            tracker = await agent.tracker_store.retrieve(message.sender_id)
            if already_handled(tracker, message.message_id):
                logger.info("Dropped a resent copy of a message already handled")
                return True
        await agent.processor.handle_message(message)
    return False
