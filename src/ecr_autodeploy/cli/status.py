"""``ecr-autodeploy status``: every mapped service, what it runs, the newest image its rule allows, drift.

``--html FILE`` writes the same as one self-contained page (cli/status_page.py).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ecr_autodeploy.cli.context import AppContext, config_option, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json, short_digest, show_notes, table
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.outcomes import Hold, Outcome
from ecr_autodeploy.engine.survey import SurveyResult, SurveyRow

if TYPE_CHECKING:
    from ecr_autodeploy.engine.gates import GateKeeper

role_option = click.option(
    "--assume-role-arn",
    help="Reach the services through this role (another account), for targets whose rule names no role_arn.",
)


def with_role(config: Config, role_arn: str | None) -> Config:
    """Return the rules with `role_arn` on every target that names no role (unchanged without one)."""
    if role_arn is None:
        return config
    if config.mode == "seed":
        raise click.UsageError("--assume-role-arn needs a rules file (the two-regex mode has no targets to give it)")
    rules = tuple(
        replace(rule, targets=tuple(t if t.role_arn else replace(t, role_arn=role_arn) for t in rule.targets))
        for rule in config.rules
    )
    return replace(config, rules=rules)


def account_of(ref: ServiceRef) -> str | None:
    """Return the account of a service reached through a role (None: the caller's own)."""
    key = ref.ledger_key
    return key.split(":", 1)[0] if ":" in key else None


def row_data(row: SurveyRow) -> dict[str, Any]:
    """Return one row as JSON data: the engine's, with the account of a cross-account service."""
    return {**row.to_dict(), "account": account_of(row.target.ref), "service_key": row.key}


@click.command()
@config_option
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, writable=True), help="Also write a self-contained HTML page."
)
@role_option
@installation_options
@pass_app
def status(app: AppContext, config_path: str | None, html_path: str | None, assume_role_arn: str | None) -> None:
    """Show every mapped service: running image, newest allowed image, drift, last deployment."""
    region = app.clients().region
    config = with_role(app.config(config_path), assume_role_arn)
    dispatcher = app.app(config)
    surveyed = dispatcher.reconciler.survey.run(region)
    gates = _gates(dispatcher.deployer.gates, surveyed, region)
    data = {
        "region": region,
        "repositories": surveyed.repositories,
        "services": [{**row_data(row), "gate": _gate_data(gates.get(row.target.key))} for row in surveyed.rows],
        "notes": list(surveyed.notes),
    }
    if html_path is not None:
        from ecr_autodeploy.cli.status_page import page

        Path(html_path).write_text(page(data), encoding="utf-8")
        click.echo(f"wrote {html_path}", err=True)
    if app.as_json:
        echo_json(data)
        return
    click.echo(
        table(
            ("SERVICE", "REPOSITORY", "RUNNING", "NEWEST ALLOWED", "DRIFT", "GATE", "LAST DEPLOYMENT"),
            [_row(r, gates.get(r.target.key)) for r in surveyed.rows],
            states=(4, 5, 6),
            keep=(0,),
        )
    )
    show_notes(surveyed.notes)


def _gates(keeper: GateKeeper | None, surveyed: SurveyResult, region: str) -> dict[str, Hold | Outcome]:
    """Return what the gates hold for each service (paused, pending approval, deferred); none without gates."""
    if keeper is None:
        return {}
    from ecr_autodeploy.engine.gate_status import gate_views

    return gate_views(keeper, surveyed, region)


def _gate_data(view: Hold | Outcome | None) -> dict[str, Any] | None:
    if view is None:
        return None
    if isinstance(view, Outcome):
        return {"status": view.status, "reason": view.reason}
    return {k: v for k, v in asdict(view).items() if v is not None}


def gate_text(view: Hold | Outcome | None) -> str:
    """Return the GATE column: ``paused``, ``pending_approval ID``, ``deferred (window)``, ``failed``, or "-"."""
    if view is None or isinstance(view, Outcome):
        return "-" if view is None else view.status
    if view.gate == "pause":
        return "paused"
    if view.status == "pending_approval" and view.approval:
        return f"pending_approval {view.approval}"
    return f"{view.status} ({view.gate})"


def _row(row: SurveyRow, gate: Hold | Outcome | None) -> tuple[str, ...]:
    d = row.drift
    running = " ".join(x for x in (d.running_tag, short_digest(d.running_digest) if d.running_digest else None) if x)
    newest = "-"
    if row.newest is not None:
        tag = next(iter(row.newest.tags), None)
        newest = f"{tag} {short_digest(row.newest.digest)}" if tag else short_digest(row.newest.digest)
    state, when = row.last_deployment
    last = " ".join(x for x in (state, when) if x) or "-"
    drift = d.state if d.state != "error" else f"error: {d.reason}"
    return (row.key, row.repository.name, running or "-", newest, drift, gate_text(gate), last)
