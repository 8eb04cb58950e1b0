"""``ecr-autodeploy watch``: follow, live, the deployments the function started until they finish.

The deployments are the ledger's open records (STARTED or IN_PROGRESS: not judged yet), of every service or of
one; each is followed by its id and rolloutState (engine/watch.py), all at once. The exit code says how they
ended: 0 when every one COMPLETED, 1 when one FAILED (a circuit-breaker rollback included), was superseded, or
was still running at the timeout.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.deploy import interval_option, timeout_option
from ecr_autodeploy.cli.history import service_ref
from ecr_autodeploy.cli.output import echo_json, revision, short_digest, table
from ecr_autodeploy.cli.progress import Board
from ecr_autodeploy.core.errors import ConfigError, RolloutError
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.core.rollout import RolloutStatus

HEADERS = ("SERVICE", "DEPLOYMENT", "STAGE", "TASKS", "IMAGE", "ELAPSED")


def _row(record: DeploymentRecord, status: RolloutStatus, elapsed: float) -> tuple[str, ...]:
    stage = status.state + (" (rolled back)" if status.rolled_back else "")
    tasks = f"{status.running}/{status.desired} running, {status.pending} pending"
    image = f"{record.image.tag or '-'} {short_digest(record.image.digest)}"
    return (record.ref.ledger_key, record.deployment_id, stage, tasks, image, f"{elapsed:.0f}s")


@click.command()
@click.option("--cluster", help="Only this service's deployments (with --service).")
@click.option("--service", help="Only this service's deployments (with --cluster).")
@click.option("--assume-role-arn", help="The role the function reaches the service through (another account).")
@timeout_option(1800.0)
@interval_option
@installation_options
@pass_app
def watch(
    app: AppContext,
    cluster: str | None,
    service: str | None,
    assume_role_arn: str | None,
    timeout: float,
    interval: float,
) -> None:
    """Follow the function's deployments (all, or one service's) until they finish; exit 1 unless all COMPLETED."""
    from ecr_autodeploy.aws.history import open_deployments
    from ecr_autodeploy.engine.watch import watch as follow

    if (cluster is None) != (service is None):
        raise click.UsageError("give both --cluster and --service, or neither (every service)")
    ledger = app.ledger()
    if ledger is None:
        raise ConfigError("--no-ledger", "watch follows the deployments the ledger recorded: drop --no-ledger")
    key = service_ref(app, cluster, service, assume_role_arn).ledger_key if cluster and service else None
    records = open_deployments(app.clients(), ledger.table, key)
    if not records:
        where = f"of {key} " if key else ""
        click.echo(f"nothing to watch: no deployment {where}started by the function is in progress", err=True)
        if app.as_json:
            echo_json({"deployments": []})
        return
    reader = app.deployer(app.config_or_empty()).gather.cluster
    started = time.monotonic()
    with Board(HEADERS) as board:

        def one(record: DeploymentRecord) -> RolloutStatus:
            return follow(
                reader,
                record.ref,
                record.deployment_id,
                timeout=timeout,
                interval=interval,
                on_progress=lambda status, _: board.set(
                    record.deployment_id, _row(record, status, time.monotonic() - started)
                ),
            )

        with ThreadPoolExecutor(max_workers=min(16, len(records))) as pool:
            finals = list(pool.map(one, records))
    ended = list(zip(records, finals, strict=True))
    if app.as_json:
        echo_json(
            {
                "deployments": [
                    {
                        "service": r.ref.ledger_key,
                        "deployment_id": r.deployment_id,
                        "digest": r.image.digest,
                        "tag": r.image.tag,
                        "task_definition": r.task_definition,
                        "state": s.state,
                        "reason": s.reason,
                        "running": s.running,
                        "desired": s.desired,
                        "pending": s.pending,
                        "rolled_back": s.rolled_back,
                    }
                    for r, s in ended
                ]
            }
        )
    else:
        rows = [(r.ref.ledger_key, revision(r.task_definition), s.state, s.reason) for r, s in ended]
        click.echo(table(("SERVICE", "REVISION", "STATE", "REASON"), rows, states=(2,)))
    bad = [(r, s) for r, s in ended if s.state != "COMPLETED"]
    if bad:
        names = ", ".join(f"{r.ref.ledger_key} {s.state}" for r, s in bad)
        raise RolloutError(f"{len(bad)} of {len(ended)} deployments did not complete: {names}")
