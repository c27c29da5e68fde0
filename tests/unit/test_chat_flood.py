"""Chat quotas per conversation, per address and for new sessions; a calm notice."""

from __future__ import annotations

from addons.channels.flood import ChatFloodGuard, ChatQuotas, limited_text
from support_core.rate_limits import RateLimiter, parse_rule


def _guard(per_conversation: str = "3/minute", per_address: str = "5/minute") -> ChatFloodGuard:
    quotas = ChatQuotas(parse_rule(per_conversation), parse_rule(per_address),
                        parse_rule("2/hour"))
    return ChatFloodGuard(quotas, RateLimiter("memory://"))


def test_a_conversation_is_held_back_after_its_quota() -> None:
    guard = _guard()
    verdicts = [guard.message("c1", "1.2.3.4").allowed for _ in range(4)]
    assert verdicts == [True, True, True, False]
    assert 1 <= guard.message("c1", "1.2.3.4").retry_after <= 60
    assert guard.message("c2", "1.2.3.4").allowed  # another conversation is not


def test_one_address_cannot_spread_a_flood_over_many_conversations() -> None:
    guard = _guard()
    verdicts = [guard.message(f"c{i}", "6.6.6.6").allowed for i in range(6)]
    assert verdicts == [True] * 5 + [False]
    assert guard.message("c9", "7.7.7.7").allowed


def test_new_sessions_per_address() -> None:
    guard = _guard()
    assert [guard.new_session("8.8.8.8").allowed for _ in range(3)] == [True, True, False]


def test_the_notice_speaks_the_users_language() -> None:
    assert "请稍等 12 秒" in limited_text("提币失败了怎么办", 12)
    assert "wait 12 seconds" in limited_text("my withdrawal failed", 12)
    both = limited_text("😭😭", 3)
    assert "请稍等 3 秒" in both and "wait 3 seconds" in both
    assert "wait" in limited_text(None, 3)
