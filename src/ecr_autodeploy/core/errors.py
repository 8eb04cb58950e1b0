"""The one error vocabulary of ecr-autodeploy.

    AutodeployError                 base; the CLI prints "Error: <message>" and exits 1
    +-- EventError                  a supported event is malformed (names the field); Lambda retries, then DLQ
    +-- ConfigError                 a rules file or environment setting is invalid (names file, rule, field)
    +-- AwsError                    an AWS call failed for good (names the step, resource and AWS error code)
    |   +-- NotFoundError           the service, cluster, task definition or image does not exist
    +-- TargetError                 a service cannot take the image as configured (no container uses the repository)
    +-- DeployError                 one or more targets of an event failed; carries every outcome
    +-- RolloutError                a deployment ECS ran did not reach COMPLETED (failed, rolled back, timeout)
    +-- LockLost                    another invocation took a service's lock mid-deploy; nothing changed, retry
    +-- ApprovalError               an approval cannot be given or rejected (unknown, decided, expired, not allowed)

Nothing-to-do results (unmapped repository, tag not allowed, already running) are never errors: they are
outcome values, logged and returned.
"""

from __future__ import annotations

from typing import Any


class AutodeployError(Exception):
    """Base of every error this project raises on purpose."""


class EventError(AutodeployError):
    """A supported event kind is malformed; `field` is the dotted path of the offending field."""

    def __init__(self, field: str, problem: str, *, event_id: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.event_id = event_id
        where = f" (event {event_id})" if event_id else ""
        super().__init__(f"malformed event{where}: {field}: {problem}")


class ConfigError(AutodeployError):
    """A rules file or environment setting is invalid."""

    def __init__(self, source: str, problem: str, *, rule: int | None = None, field: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.rule = rule
        self.field = field
        parts = [source]
        if rule is not None:
            parts.append(f"rules[{rule}]")
        if field is not None:
            parts.append(field)
        super().__init__(f"{': '.join(parts)}: {problem}")


class AwsError(AutodeployError):
    """An AWS call failed after retries, or for good; names the step, the resource and the AWS error code."""

    def __init__(self, step: str, code: str, message: str, *, resource: str | None = None) -> None:
        self.step = step
        self.code = code
        self.resource = resource
        target = f" {resource}" if resource else ""
        super().__init__(f"{step}{target}: {code}: {message}")


class NotFoundError(AwsError):
    """The named AWS resource does not exist."""


class TargetError(AutodeployError):
    """The target service cannot take this image as configured; names the service and what is missing."""


class DeployError(AutodeployError):
    """Some targets of one event failed; `outcomes` holds every target's result (JSON-ready dicts)."""

    def __init__(self, message: str, outcomes: list[dict[str, Any]]) -> None:
        self.outcomes = outcomes
        super().__init__(message)


class RolloutError(AutodeployError):
    """A deployment did not reach COMPLETED: it failed, was rolled back, or timed out."""


class LockLost(AutodeployError):
    """The service's lock passed to another invocation before this one changed the service (a retry redoes it)."""


class ApprovalError(AutodeployError):
    """An approval cannot be given or rejected: unknown, decided or superseded before, expired, or not the caller's."""
