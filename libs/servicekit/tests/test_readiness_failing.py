"""Readiness of a subscription that restarts in a loop (session 11 review 1, F1)."""

from __future__ import annotations

from pmo_events.runtime.subscription import FAILING_AFTER, RETRIES_FAILING_AFTER, SubscriptionStatus
from pmo_servicekit.health import subscription_check


def test_readiness_says_failing_after_restarts_in_a_row() -> None:
    """A consumer that starts and fails again and again reconnects each time: the readiness grace alone never
    saw it down (review 1 F1: 200 'subscription: ok' through a restart loop every 0.2 s)."""
    status = SubscriptionStatus(active=True, connected=True)
    assert subscription_check(status, grace=30) == "ok"
    status.failures_in_a_row, status.failing_with = FAILING_AFTER, "UnicodeDecodeError: 'utf-8' codec ..."
    assert subscription_check(status, grace=30).startswith(f"failing: {FAILING_AFTER} restarts in a row")
    status.active = False  # a standby reports nothing of the holder's
    assert subscription_check(status, grace=30) == "ok"


def test_readiness_says_failing_when_the_same_poll_keeps_failing() -> None:
    """A poll whose conflict never clears was retried every 50 ms for ever, connected all along: readiness said
    ok (session 11's notes)."""
    status = SubscriptionStatus(active=True, connected=True)
    status.retries_in_a_row, status.failing_with = RETRIES_FAILING_AFTER - 1, "ConcurrencyConflict: version 3"
    assert subscription_check(status, grace=30) == "ok"
    status.retries_in_a_row += 1
    check = subscription_check(status, grace=30)
    assert check == f"failing: its poll failed {RETRIES_FAILING_AFTER} times in a row: ConcurrencyConflict: version 3"


def test_readiness_names_what_made_it_failing() -> None:
    """Restarts in a row make it failing while a few retries were counted too: the text names the restarts, not
    the retries (s12 review F1: it named whichever count was not zero)."""
    status = SubscriptionStatus(active=True, connected=True)
    status.failures_in_a_row, status.retries_in_a_row, status.failing_with = FAILING_AFTER, 2, "LeadershipLost: x"
    assert subscription_check(status, grace=30).startswith(f"failing: {FAILING_AFTER} restarts in a row")
