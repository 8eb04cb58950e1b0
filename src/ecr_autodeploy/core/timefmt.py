"""Times as people and logs read them: ISO 8601, UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(when: float | datetime | None, missing: str = "?") -> str:
    """Return `when` (epoch seconds or a datetime) as ISO 8601 in UTC, or `missing` when it is None."""
    if when is None:
        return missing
    moment = when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def since(text: str, now: float) -> float | None:
    """Return seconds from an ISO time (an event's ``time``) to `now`; None when it is missing or unreadable."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, now - when.timestamp())


def epoch(when: datetime | None) -> float:
    """Return a datetime as epoch seconds (0 for None: unknown sorts oldest)."""
    return when.timestamp() if when else 0.0
