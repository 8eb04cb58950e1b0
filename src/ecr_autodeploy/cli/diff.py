"""``ecr-autodeploy diff``: the task-definition change a deploy would make, field by field, changing nothing.

The same view is printed by ``plan`` and by every ``--dry-run`` of a deploy: the dry-run executor gets the plans,
and a recorder beside it keeps them, so the diff is the one the engine would apply (``Plan.register`` against
the running revision, core/diff.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from ecr_autodeploy.cli.context import AppContext, image_options, installation_options, pass_app
from ecr_autodeploy.cli.output import color_enabled, echo_json, paint, revision, show_notes, terminal_width
from ecr_autodeploy.core.diff import Change, registration, task_definition_diff
from ecr_autodeploy.core.errors import AutodeployError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.outcomes import Outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.core.records import Claim, ServiceItem
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.engine.executor import Applied, Claims, PlanRunner


class PlanRecorder:
    """A plan runner that keeps every plan it is handed, then lets the wrapped runner run it."""

    def __init__(self, inner: PlanRunner) -> None:
        self.inner = inner
        self.plans: list[Plan] = []

    def claim(
        self, wanted: Sequence[tuple[ServiceRef, str]], event: ImageEvent, owner: str
    ) -> dict[str, Claim | AutodeployError]:
        """Return what the wrapped runner's claim returns."""
        return self.inner.claim(wanted, event, owner)

    def run(
        self,
        items: Sequence[Plan | Outcome],
        event: ImageEvent,
        owner: str | None,
        claims: Claims | None = None,
        previous: Mapping[str, ServiceItem | None] | None = None,
    ) -> list[Applied]:
        """Return what the wrapped runner returns, after keeping the plans."""
        self.plans.extend(i for i in items if isinstance(i, Plan))
        return self.inner.run(items, event, owner, claims, previous)


def record_plans(deployer: Deployer) -> PlanRecorder:
    """Return the recorder now standing in front of the deployer's runner."""
    recorder = PlanRecorder(deployer.runner)
    deployer.runner = recorder
    return recorder


@frozen
class TargetDiff:
    """What a deploy would change on one service: the revision it runs, and the fields of the new one."""

    target: str
    action: str
    current: str | None
    changes: tuple[Change, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as JSON-ready data."""
        return {
            "target": self.target,
            "action": self.action,
            "task_definition": self.current,
            "changes": [c.to_dict() for c in self.changes],
            "reason": self.reason,
        }


def plan_diffs(deployer: Deployer, plans: Sequence[Plan]) -> list[TargetDiff]:
    """Return the diff of each plan: a pinned plan against the revision it copies (read again, once each)."""
    found = []
    for plan in plans:
        changes: tuple[Change, ...] = ()
        if plan.action == "register" and plan.register is not None and plan.current_task_definition:
            current = deployer.gather.cluster.task_definition(plan.target.ref, plan.current_task_definition)
            changes = task_definition_diff(registration(current.body, current.tags), plan.register)
        found.append(
            TargetDiff(plan.target.ref.ledger_key, plan.action, plan.current_task_definition, changes, plan.reason)
        )
    return found


def render_diffs(diffs: Sequence[TargetDiff], *, color: bool | None = None, width: int | None = None) -> str:
    """Return the diffs for people: one block per service, ``-`` before and ``+`` after, coloured on a terminal."""
    use = color_enabled() if color is None else color
    room = max(20, (width or terminal_width()) - 6)
    lines = []
    for d in diffs:
        if d.action == "register":
            head = f"{d.target}: {revision(d.current)} -> a new revision"
        elif d.action == "force":
            head = f"{d.target}: a new deployment of {revision(d.current)} (no task-definition change)"
        else:
            head = f"{d.target}: no change ({d.reason})"
        for piece in [head[i : i + room + 6] for i in range(0, len(head), room + 6)]:
            lines.append(click.style(piece, bold=True) if use else piece)
        for c in d.changes:
            lines.append(f"  {c.path}:")
            for sign, value, state in (("-", c.before, "FAILED"), ("+", c.after, "COMPLETED")):
                if value is None:
                    continue
                text = _text(value)
                # Long values (image URIs, JSON) are folded to the width, never cut: every character matters here.
                pieces = [text[i : i + room] for i in range(0, len(text), room)] or [""]
                for n, piece in enumerate(pieces):
                    lines.append(paint(f"    {sign if n == 0 else ' '} {piece}", state, color=use))
    return "\n".join(lines)


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@click.command()
@image_options
@click.option("--allow-downgrade", is_flag=True, help="Show the change even if the service runs a newer image.")
@click.option("--assume-role-arn", help="Reach the service through this role (another account).")
@installation_options
@pass_app
def diff(
    app: AppContext,
    cluster: str,
    service: str,
    image: str,
    strategy: str,
    containers: tuple[str, ...],
    allow_downgrade: bool,
    assume_role_arn: str | None,
) -> None:
    """Show the task-definition change `deploy` would make, field by field; change nothing."""
    from ecr_autodeploy.cli.deploy import manual_request

    event, target = manual_request(
        app, cluster, service, image, strategy, containers, allow_downgrade, False, assume_role_arn
    )
    deployer = app.deployer(app.config_or_empty(), dry_run=True)
    recorder = record_plans(deployer)
    result = deployer.deploy(event, [target])
    diffs = plan_diffs(deployer, recorder.plans)
    if app.as_json:
        (outcome,) = result.outcomes
        echo_json({"digest": outcome.digest, "outcome": outcome.to_dict(), "diff": [d.to_dict() for d in diffs]})
    else:
        (outcome,) = result.outcomes
        click.echo(render_diffs(diffs) if diffs else f"{outcome.target}: {outcome.status}: {outcome.reason}")
    show_notes(result.notes)
