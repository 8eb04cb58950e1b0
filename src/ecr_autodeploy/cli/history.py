"""``ecr-autodeploy history``: a service's deployments from the ledger: when, digest, tag, outcome, trigger."""

from __future__ import annotations

from typing import Any

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json, revision, short_digest, table
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.core.timefmt import iso


def service_ref(app: AppContext, cluster: str, service: str, role_arn: str | None = None) -> ServiceRef:
    """Return the service named on the command line, in the clients' region."""
    return ServiceRef(app.clients().region, cluster, service, role_arn)


def trigger(record: DeploymentRecord) -> str:
    """Return who or what started a deployment: the event kind and id, a rollback, or the person."""
    if record.rollback_of:
        return f"rollback of {record.rollback_of}"
    event = record.event_id or "?"
    if record.event_kind == "manual":
        who = event.split(" by ", 1)[1] if " by " in event else "a person (manual deploy)"
        return f"manual deploy by {who}"
    if record.event_kind == "reconcile":
        return "reconcile (scheduled or by hand)"
    if record.event_kind == "approval":
        approval, _, who = event.removeprefix("approval-").partition(" by ")
        return f"approval {approval.rsplit('-', 1)[0]} by {who or 'a person'}"
    if record.event_kind in ("promotion", "wave"):
        after = event.split(" after ", 1)[1] if " after " in event else "a completed rollout"
        what = "promotion" if record.event_kind == "promotion" else "next wave"
        return f"{what} after deployment {after} completed"
    kinds = {"replicate": "ECR replication", "push": "ECR push", "cloudtrail": "CloudTrail"}
    return f"{kinds.get(record.event_kind or '', record.event_kind or 'event')} event {event}"


def outcome(record: DeploymentRecord) -> str:
    """Return the record's state with what became of it (rolled back, superseded)."""
    extra = ""
    if record.rolled_back_by:
        extra = f", rolled back by {record.rolled_back_by}"
    elif record.superseded_by:
        extra = f" by {record.superseded_by}"
    return f"{record.state}{extra}"


def record_data(record: DeploymentRecord) -> dict[str, Any]:
    """Return a record as JSON data."""
    data = {k: v for k, v in record.to_item().items() if k not in ("region", "cluster", "service", "role_arn")}
    return {
        **data,
        "started_at": iso(record.started_at) if record.started_at else None,
        "finished_at": iso(record.finished_at) if record.finished_at else None,
        "trigger": trigger(record),
    }


@click.command()
@click.option("--cluster", required=True, help="ECS cluster name.")
@click.option("--service", required=True, help="ECS service name.")
@click.option("--assume-role-arn", help="The role the function reaches the service through (another account).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest deployments shown.")
@installation_options
@pass_app
def history(app: AppContext, cluster: str, service: str, assume_role_arn: str | None, limit: int) -> None:
    """Show a service's deployments from the ledger: when, digest, tag, outcome, and who or what started them."""
    from ecr_autodeploy.aws.history import scan_deployments

    ledger = app.ledger()
    if ledger is None:
        raise ConfigError("--no-ledger", "history is read from the ledger: drop --no-ledger")
    ref = service_ref(app, cluster, service, assume_role_arn)
    records = scan_deployments(app.clients(), ledger.table, service_key=ref.ledger_key)[:limit]
    if app.as_json:
        echo_json({"service": ref.ledger_key, "deployments": [record_data(r) for r in records]})
        return
    if not records:
        click.echo(f"no deployment of {ref.ledger_key} in the ledger {ledger.table} (records live 30 days)", err=True)
        return
    rows = [
        (
            iso(r.started_at) if r.started_at else "-",
            outcome(r),
            short_digest(r.image.digest),
            r.image.tag or "-",
            revision(r.task_definition),
            trigger(r),
        )
        for r in records
    ]
    click.echo(table(("STARTED", "OUTCOME", "DIGEST", "TAG", "REVISION", "TRIGGER"), rows, states=(1,)))
