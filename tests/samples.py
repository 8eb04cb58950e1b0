"""The captured EventBridge events in tests/events, one JSON file per case, for every test ring to import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent / "events"


def sample_names() -> list[str]:
    """Return the name (file stem) of every sample event, sorted."""
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json"))


def load_event(name: str) -> Any:
    """Return a fresh copy of the sample event `name` ("push_success_tagged" or "push_success_tagged.json")."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))
