"""Unit tests of core.windows: parsing deployment windows, whether one is open, when the next opens, time zones."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ecr_autodeploy.core.windows import describe_local, next_opening, open_now, parse_window


def at(text: str) -> float:
    """Return the epoch seconds of an ISO time (UTC unless it says otherwise)."""
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def test_a_weekday_window_in_berlin_follows_daylight_saving() -> None:
    window = parse_window("Mon-Fri 09:00-16:00 Europe/Berlin")
    # Monday 2026-01-05: Berlin is UTC+1, so the window is 08:00-15:00 UTC.
    assert not window.contains(at("2026-01-05T07:59:00"))
    assert window.contains(at("2026-01-05T08:00:00"))
    assert window.contains(at("2026-01-05T14:59:59"))
    assert not window.contains(at("2026-01-05T15:00:00"))
    # Monday 2026-07-06: Berlin is UTC+2, so 07:00-14:00 UTC.
    assert window.contains(at("2026-07-06T07:00:00"))
    assert not window.contains(at("2026-07-06T14:00:00"))
    # Saturday.
    assert not window.contains(at("2026-01-10T10:00:00"))


def test_the_next_opening_is_the_next_allowed_day_at_the_start() -> None:
    window = parse_window("Mon-Fri 09:00-16:00 Europe/Berlin")
    friday_evening = at("2026-01-09T18:00:00")
    assert window.next_open(friday_evening) == at("2026-01-12T08:00:00")  # Monday 09:00 Berlin
    assert describe_local(window.next_open(friday_evening), window.zone) == "Mon 09:00 Europe/Berlin"
    monday_early = at("2026-01-12T06:00:00")
    assert window.next_open(monday_early) == at("2026-01-12T08:00:00")


def test_an_overnight_window_belongs_to_the_day_it_starts() -> None:
    window = parse_window("Fri 22:00-02:00 UTC")
    assert window.overnight
    assert window.contains(at("2026-01-09T23:00:00"))  # Friday night
    assert window.contains(at("2026-01-10T01:59:00"))  # Saturday early: still Friday's window
    assert not window.contains(at("2026-01-10T02:00:00"))
    assert not window.contains(at("2026-01-10T23:00:00"))  # Saturday night is not a window day
    assert not window.contains(at("2026-01-09T01:00:00"))  # Friday early belongs to Thursday


def test_day_lists_ranges_that_wrap_the_week_and_a_whole_day() -> None:
    assert parse_window("Mon,Wed-Thu 00:00-24:00").days == frozenset({0, 2, 3})
    assert parse_window("Fri-Mon 10:00-11:00").days == frozenset({4, 5, 6, 0})
    whole = parse_window("sun 00:00-24:00")
    assert whole.contains(at("2026-01-11T23:59:59"))
    assert not whole.contains(at("2026-01-12T00:00:00"))


def test_a_fixed_offset_needs_no_time_zone_database() -> None:
    window = parse_window("Mon-Fri 09:00-17:00 UTC+05:30")
    assert window.contains(at("2026-01-05T03:30:00"))
    assert not window.contains(at("2026-01-05T03:29:00"))


def test_several_windows_open_when_any_is_open_and_none_means_always() -> None:
    windows = [parse_window("Mon 09:00-10:00"), parse_window("Tue 09:00-10:00")]
    assert open_now(windows, at("2026-01-06T09:30:00"))
    assert not open_now(windows, at("2026-01-07T09:30:00"))
    assert open_now([], at("2026-01-07T09:30:00"))
    assert next_opening(windows, at("2026-01-07T09:30:00")) == at("2026-01-12T09:00:00")
    assert next_opening([], 0.0) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("weekdays", "is not a window: write DAYS HH:MM-HH:MM [ZONE]"),
        ("Mon-Fri 9-16", "is not a window"),
        ("Mon-Fry 09:00-16:00", "'Mon-Fry' is not a day or a range of days"),
        ("Mon-Tue-Wed 09:00-16:00", "is not a day or a range of days"),
        ("Mon 25:00-26:00", "'25:00' is not a time of day"),
        ("Mon 09:00-09:60", "'09:60' is not a time of day"),
        ("Mon 09:00-09:00", "the window starts and ends at 09:00 (it would be empty)"),
        ("Mon 09:00-10:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Mon 09:00-10:00 UTC+15:00", "is not a UTC offset"),
        ("Mon 09:00-10:00 ../etc/passwd", "unknown time zone"),
    ],
)
def test_bad_windows_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_window(text)
