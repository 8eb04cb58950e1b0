"""Deployment windows: ``"Mon-Fri 09:00-16:00 Europe/Berlin"``, when a rule may deploy (pure; the time is passed in).

    DAYS START-END [ZONE]
    DAYS   a day (Mon ... Sun), a range (Mon-Fri, Fri-Mon wraps the week) or a comma list of both (Mon,Wed-Thu)
    START  HH:MM, 24-hour; END HH:MM or 24:00; an END before START runs past midnight into the next day
    ZONE   an IANA time zone (Europe/Berlin), UTC (the default) or a fixed offset (UTC+05:30, UTC-04:00)

Local times follow the zone's daylight-saving rules: 09:00 Europe/Berlin is 08:00 UTC in winter, 07:00 in summer.
A window is open from START (inclusive) to END (exclusive) on each of its days.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from ecr_autodeploy.core.values import frozen

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW_RE = re.compile(
    r"^\s*(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})(?:\s+(?P<zone>\S+))?\s*\Z"
)
_OFFSET_RE = re.compile(r"^UTC(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})\Z")
_DAY = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_MINUTES_PER_DAY = 24 * 60


@frozen
class Window:
    """One deployment window: its days (0 = Monday), start and end in minutes of the day, and its time zone."""

    text: str
    days: frozenset[int]
    start: int
    end: int
    zone: str = "UTC"

    @property
    def overnight(self) -> bool:
        """Return True when the window runs past midnight into the next day."""
        return self.end <= self.start

    def contains(self, now: float) -> bool:
        """Return True when the epoch time `now` falls inside the window."""
        local = datetime.fromtimestamp(now, zone_of(self.zone))
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if not self.overnight:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)

    def next_open(self, now: float) -> float:
        """Return the epoch time the window next opens after `now` (a window has at least one day: always found)."""
        zone = zone_of(self.zone)
        today = datetime.fromtimestamp(now, zone).date()
        for ahead in range(8):
            day = today + timedelta(days=ahead)
            if day.weekday() in self.days:
                opens = _local(day, self.start, zone).timestamp()
                if opens > now:
                    return opens
        raise AssertionError("a window with a day opens within eight days")  # pragma: no cover - days is not empty


def parse_window(text: str) -> Window:
    """Return the window `text` describes; raise ValueError saying what is wrong."""
    found = _WINDOW_RE.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a window: write DAYS HH:MM-HH:MM [ZONE], e.g. 'Mon-Fri 09:00-16:00 UTC'")
    days = _days(found["days"])
    start, end = _minute(found["start"], end=False), _minute(found["end"], end=True)
    if start == end:
        raise ValueError(f"{text!r}: the window starts and ends at {found['start']} (it would be empty)")
    zone = found["zone"] or "UTC"
    zone_of(zone)  # raises ValueError for a zone that does not exist
    return Window(text.strip(), days, start, end, zone)


def open_now(windows: Sequence[Window], now: float) -> bool:
    """Return True when any of the windows is open at `now` (no windows: always open)."""
    return not windows or any(w.contains(now) for w in windows)


def next_opening(windows: Sequence[Window], now: float) -> float | None:
    """Return when the first of the windows opens next (None without windows)."""
    return min((w.next_open(now) for w in windows), default=None)


def describe_local(when: float, zone: str) -> str:
    """Return a time as the zone's people read it, e.g. ``Mon 09:00 Europe/Berlin``."""
    local = datetime.fromtimestamp(when, zone_of(zone))
    return f"{DAY_NAMES[local.weekday()]} {local:%H:%M} {zone}"


@lru_cache(maxsize=64)
def zone_of(name: str) -> tzinfo:
    """Return the time zone `name` names (UTC, UTC+HH:MM, or an IANA zone); raise ValueError when it is unknown."""
    if name == "UTC":
        return UTC
    offset = _OFFSET_RE.match(name)
    if offset is not None:
        hours, minutes = int(offset["hours"]), int(offset["minutes"])
        if hours > 14 or minutes > 59:
            raise ValueError(f"{name!r} is not a UTC offset (UTC-12:00 to UTC+14:00)")
        sign = -1 if offset["sign"] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes), name)
    # The standard library reads the system's time-zone database (or the tzdata package) once per zone.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Berlin, UTC, or an offset such as UTC+01:00)"
        ) from None


def _local(day: date, minute: int, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        names = part.split("-")
        if len(names) > 2 or not all(n.lower() in _DAY for n in names):
            raise ValueError(f"{part!r} is not a day or a range of days ({', '.join(DAY_NAMES)}; e.g. Mon-Fri)")
        first, last = _DAY[names[0].lower()], _DAY[names[-1].lower()]
        span = (last - first) % 7
        days.update((first + i) % 7 for i in range(span + 1))
    return frozenset(days)


def _minute(text: str, *, end: bool) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if end and (hours, minutes) == (24, 0):
        return _MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00 to 23:59{', or 24:00' if end else ''})")
    return hours * 60 + minutes
