"""'Where is my ticket?': the real status from the handoff service."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff_client import HandoffRejected, HandoffUnavailable, NoSuchTicket
from actions.outbox import TICKET
from actions.runtime import ServiceAction
from actions.ticket_form import language_of
from support_core.identifiers import is_conversation_id

# Set by the chat channel from the signed session (addons.channels.guard).
PREVIOUS_METADATA_KEY = "previous_conversations"

logger = logging.getLogger(__name__)

STATUS_LABELS = {
    "open": ("已提交，等待客服接单", "submitted, waiting for an agent"),
    "assigned": ("客服 {agent} 正在处理", "being handled by {agent}"),
    "resolved": ("已解决", "resolved"),
    "closed": ("已关闭", "closed"),
}


def status_text(ticket: dict, language: str) -> str:
    """The ticket's status in words, naming the agent when there is one."""
    zh, en = STATUS_LABELS.get(ticket.get("status", ""), (ticket.get("status", ""),) * 2)
    label = zh if language == "zh" else en
    agent = ticket.get("assignee")
    if not agent:
        return "客服正在处理" if language == "zh" and ticket.get("status") == "assigned" else (
            label.format(agent="an agent")
        )
    return label.format(agent=agent)


class ActionCheckTicketStatus(ServiceAction):
    """Answers with the status of this conversation's ticket."""

    def name(self) -> str:
        """Runs on ``check_ticket_status``."""
        return "action_check_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Queued, found, none yet, or the service cannot be reached: say which."""
        queued = await asyncio.to_thread(self.outbox.pending, tracker.sender_id)
        if any(entry.kind == TICKET for entry in queued):
            dispatcher.utter_message(response="utter_ticket_status_queued")
            return []
        try:
            ticket = await self._latest_ticket(tracker)
        except NoSuchTicket:
            dispatcher.utter_message(response="utter_no_ticket_yet")
            return []
        except HandoffUnavailable:
            dispatcher.utter_message(response="utter_service_unreachable")
            return []
        except HandoffRejected as rejected:
            logger.error("Ticket lookup of %s refused: %s", tracker.sender_id, rejected)
            dispatcher.utter_message(response="utter_service_unreachable")
            return []
        dispatcher.utter_message(
            response="utter_ticket_status",
            ref=ticket["ref"],
            status=status_text(ticket, language_of(tracker)),
        )
        if ticket.get("conversation_id") not in (None, tracker.sender_id):
            # The ticket of the chat the user left: do not make it this chat's.
            return []
        return [SlotSet("ticket_ref", ticket["ref"])]

    async def _latest_ticket(self, tracker: Tracker) -> dict:
        """This conversation's ticket, else that of the chat the user left for this one.

        The earlier conversations come from the signed session (metadata only
        the channel sets), never from what the user typed.

        Raises:
            NoSuchTicket: none of them has a ticket.
        """
        for conversation_id in [tracker.sender_id, *previous_conversations(tracker)]:
            try:
                return await asyncio.to_thread(self.client.conversation_ticket, conversation_id)
            except NoSuchTicket:
                continue
        raise NoSuchTicket("no ticket in this conversation or the ones before it")


def previous_conversations(tracker: Tracker) -> list[str]:
    """The earlier conversations the channel linked to this one (newest first, at most 3)."""
    metadata = tracker.latest_message.get("metadata") or {}
    linked = metadata.get(PREVIOUS_METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(linked, list):
        return []
    return [c for c in linked[:3] if isinstance(c, str) and is_conversation_id(c)]
