"""The service agrees with the shared rules of ``support_core.patterns``, copy by copy.

The enums, the database's CHECK constraints and the console's labels are
copies that cannot import the rules; each is held to them here. The e-mail
check and the console's lists are the shared ones, not copies.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from handoff_service.console_config import (
    CATEGORY_LABELS,
    ESCALATION_REASON_LABELS,
    console_config,
)
from handoff_service.errors import ValidationFailed
from handoff_service.models import Category, EscalationReason, Ticket
from handoff_service.services import HandoffService
from support_core.patterns import CATEGORIES, ESCALATION_REASONS, is_email
from tests.handoff.helpers import ticket_payload

CONSOLE = Path(__file__).resolve().parents[2] / "handoff_service" / "console"
SHARED_LISTS = {"category": CATEGORIES, "escalation_reason": ESCALATION_REASONS}


def test_the_enums_are_the_shared_lists() -> None:
    assert tuple(member.value for member in Category) == CATEGORIES
    assert tuple(member.value for member in EscalationReason) == ESCALATION_REASONS


@pytest.mark.parametrize("column", sorted(SHARED_LISTS))
def test_the_model_columns_take_exactly_the_shared_values(column: str) -> None:
    assert tuple(Ticket.__table__.c[column].type.enums) == SHARED_LISTS[column]


@pytest.mark.parametrize("column", sorted(SHARED_LISTS))
def test_the_migrated_database_checks_exactly_the_shared_values(
    migrated_engine: Engine, column: str
) -> None:
    # The CHECK constraints come from the migrations, not from the models.
    (check,) = [
        c for c in inspect(migrated_engine).get_check_constraints("tickets")
        if c["name"] == f"ck_tickets_{column}"
    ]
    assert set(re.findall(r"'([^']*)'", check["sqltext"])) == set(SHARED_LISTS[column])


@pytest.mark.parametrize(
    "address",
    [
        "user@example.com",
        "first.last+tag@mail.example.co.uk",
        "a@b.c",
        "用户@example.com",
        "user@exa_mple.com",
        "user@@example.com",
        "user@example",
        "us er@example.com",
        "x" * 243 + "@example.com",
        "x" * 242 + "@example.com",
    ],
)
def test_the_contact_email_rule_is_the_shared_one(service: HandoffService, address: str) -> None:
    payload = ticket_payload(contact_email=address)
    if is_email(address):
        ticket, _ = service.create_ticket(payload, None)
        assert ticket.contact_email == address
    else:
        with pytest.raises(ValidationFailed) as err:
            service.create_ticket(payload, None)
        assert err.value.field == "contact_email"


def test_the_console_is_served_every_shared_value_with_a_label() -> None:
    config = console_config()
    assert sorted(c["value"] for c in config["categories"]) == sorted(CATEGORIES)
    assert [r["value"] for r in config["escalationReasons"]] == list(ESCALATION_REASONS)
    # A value added to the shared lists needs its label here (else it shows raw).
    assert set(CATEGORY_LABELS) == set(CATEGORIES)
    assert set(ESCALATION_REASON_LABELS) == set(ESCALATION_REASONS)


def test_the_console_lists_categories_most_urgent_first() -> None:
    values = [c["value"] for c in console_config()["categories"]]
    assert values[:2] == ["security", "assets"]
    assert values[2:] == [c for c in CATEGORIES if c not in ("security", "assets")]


@pytest.mark.parametrize("page", ["console.js", "index.html"])
def test_the_console_hard_codes_no_category_or_reason(page: str) -> None:
    text = (CONSOLE / page).read_text(encoding="utf-8")
    for value in (*CATEGORIES, *ESCALATION_REASONS):
        # As a string, an object key or an option value: any of these is a copy.
        assert not re.search(rf"[\"']{value}[\"']|\b{value}\s*:", text), (page, value)
