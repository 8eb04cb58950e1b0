"""The demo's result as values: checks per scenario, a row per service, and the summary that decides the exit code."""

from __future__ import annotations

from dataclasses import asdict, field
from typing import Any

from ecr_autodeploy.core.values import frozen

SCENARIOS = 6  # a summary with fewer scenarios did not run them all


@frozen
class Check:
    """One expectation of a scenario and whether the emulator's state met it."""

    what: str
    ok: bool
    detail: str = ""


@frozen
class ServiceRow:
    """One service in one scenario: image before and after, the function's outcome, the rollout."""

    service: str
    before: str
    after: str
    digest: str | None
    outcome: str
    rollout: str
    seconds: float
    reason: str = ""
    stages: tuple[str, ...] = ()  # the lifecycle stages the rollout went through, as the watcher saw them


@frozen
class ScenarioResult:
    """What a scenario did and whether it behaved as expected."""

    number: int
    title: str
    expected: str
    rows: tuple[ServiceRow, ...]
    checks: tuple[Check, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """Return True when every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as JSON-ready data."""
        return {
            "number": self.number,
            "title": self.title,
            "expected": self.expected,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "services": [
                {k: v for k, v in asdict(r).items() if v != ()} | {"seconds": round(r.seconds, 2)} for r in self.rows
            ],
            "checks": [asdict(c) for c in self.checks],
        }


@frozen
class Summary:
    """The demo's result: every scenario, the set-up, and the problems of the emulator glue itself."""

    scenarios: tuple[ScenarioResult, ...]
    endpoint: str
    build_region: str
    deploy_region: str
    function: str
    rules: tuple[str, ...]
    install_steps: int
    invocations: int
    seconds: float
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Return True when every scenario behaved as expected and the glue reported no problem."""
        return len(self.scenarios) == SCENARIOS and all(s.ok for s in self.scenarios) and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data."""
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "emulator": {
                "endpoint": self.endpoint,
                "build_region": self.build_region,
                "deploy_region": self.deploy_region,
            },
            "install": {"function": self.function, "rules": list(self.rules), "steps": self.install_steps},
            "invocations": self.invocations,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "problems": list(self.problems),
            "notes": list(self.notes),
        }
