"""Handoff service: tickets that carry an escalated chat from the assistant to a human agent."""
