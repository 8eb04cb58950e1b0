"""``ecr-autodeploy status``: every mapped service, what it runs, the newest image its rule allows, drift."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, config_option, json_option, pass_app
from ecr_autodeploy.cli.output import echo_json, short_digest, table
from ecr_autodeploy.engine.survey import SurveyRow


@click.command()
@config_option
@json_option
@pass_app
def status(app: AppContext, config_path: str | None, as_json: bool) -> None:
    """Show every mapped service: running image, newest allowed image, drift, last deployment."""
    region = app.clients().region
    surveyed = app.app(app.config(config_path)).reconciler.survey.run(region)
    if as_json:
        echo_json(
            {
                "region": region,
                "repositories": surveyed.repositories,
                "services": [row.to_dict() for row in surveyed.rows],
                "notes": list(surveyed.notes),
            }
        )
        return
    click.echo(
        table(
            ("SERVICE", "REPOSITORY", "RUNNING", "NEWEST ALLOWED", "DRIFT", "LAST DEPLOYMENT"),
            [_row(r) for r in surveyed.rows],
        )
    )
    for note in surveyed.notes:
        click.echo(f"note: {note}", err=True)


def _row(row: SurveyRow) -> tuple[str, ...]:
    d = row.drift
    running = " ".join(x for x in (d.running_tag, short_digest(d.running_digest) if d.running_digest else None) if x)
    newest = "-"
    if row.newest is not None:
        tag = next(iter(row.newest.tags), None)
        newest = f"{tag} {short_digest(row.newest.digest)}" if tag else short_digest(row.newest.digest)
    state, when = row.last_deployment
    last = " ".join(x for x in (state, when) if x) or "-"
    drift = d.state if d.state != "error" else f"error: {d.reason}"
    return (row.target.key, row.repository.name, running or "-", newest, drift, last)
