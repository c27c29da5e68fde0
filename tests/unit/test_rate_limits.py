"""The shared rate limiter: fixed windows in memory or Redis, open when Redis is down."""

from __future__ import annotations

import logging
import uuid

import pytest

from support_core.rate_limits import RateLimitConfigError, RateLimiter, parse_rule


def test_a_rule_allows_its_count_then_says_how_long_to_wait() -> None:
    limiter, rule = RateLimiter("memory://"), parse_rule("3/minute")
    verdicts = [limiter.hit(rule, "ns", "id") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 1 <= verdicts[-1].retry_after <= 60
    assert limiter.hit(rule, "other-ns", "id").allowed


def test_two_limiters_on_one_redis_share_the_count() -> None:
    rule, identity = parse_rule("2/minute"), uuid.uuid4().hex
    first, second = RateLimiter("redis://127.0.0.1:6379/7"), RateLimiter("redis://127.0.0.1:6379/7")
    assert first.hit(rule, "shared", identity).allowed
    assert second.hit(rule, "shared", identity).allowed
    assert not first.hit(rule, "shared", identity).allowed


def test_an_unreachable_redis_lets_traffic_through_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter, rule = RateLimiter("redis://127.0.0.1:1/0"), parse_rule("1/minute")
    with caplog.at_level(logging.WARNING):
        assert all(limiter.hit(rule, "ns", "id").allowed for _ in range(3))
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


@pytest.mark.parametrize("bad", ["", "often", "3 per fortnight"])
def test_bad_rules_are_configuration_errors(bad: str) -> None:
    with pytest.raises(RateLimitConfigError):
        parse_rule(bad)


def test_a_bad_storage_url_is_a_configuration_error() -> None:
    with pytest.raises(RateLimitConfigError):
        RateLimiter("nosuch://x").hit(parse_rule("1/minute"), "ns", "id")
