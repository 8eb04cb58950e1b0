"""``ecr-autodeploy replay EVENT.json``: run the Lambda's own code path on a captured event."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, config_option, json_option, pass_app
from ecr_autodeploy.cli.output import echo_json, outcomes_table
from ecr_autodeploy.core.documents import load_json
from ecr_autodeploy.core.errors import ConfigError, DeployError
from ecr_autodeploy.outcomes import Result


def read_event(path: str) -> object:
    """Return the JSON document in an event file; raise ConfigError naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise ConfigError(path, f"cannot read event file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"not UTF-8 text (byte {err.start}: {err.reason})") from None
    # The same JSON reader as the rules: duplicate keys, huge numbers and deep nesting are ConfigErrors.
    return load_json(text, path)


def show_result(result: Result, as_json: bool) -> None:
    """Print an event's result (notes, such as the ledger being off, go to stderr)."""
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(outcomes_table(result.outcomes))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def show_failure(err: DeployError, as_json: bool) -> None:
    """Print the outcomes carried by a DeployError before it becomes `Error: ...`."""
    if as_json:
        echo_json({"outcomes": err.outcomes})
    else:
        for outcome in err.outcomes:
            click.echo(f"{outcome.get('status')}: {outcome.get('target')}: {outcome.get('reason')}")


@click.command()
@click.argument("event_path", metavar="EVENT.json", type=click.Path(dir_okay=False))
@config_option
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
@pass_app
def replay(app: AppContext, event_path: str, config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Run the Lambda's code path on a captured event: ECR image, ECS deployment state change, or reconcile."""
    from ecr_autodeploy.wiring import build_app

    dispatcher = build_app(app.config(config_path), app.clients())
    event = read_event(event_path)
    try:
        result = dispatcher.handle(event, dry_run=dry_run)
    except DeployError as err:
        show_failure(err, as_json)
        raise
    show_result(result, as_json)
