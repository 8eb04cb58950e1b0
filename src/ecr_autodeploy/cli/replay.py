"""``ecr-autodeploy replay EVENT.json``: run the Lambda's own code path on a captured event."""

from __future__ import annotations

import sys

import click

from ecr_autodeploy.cli.context import AppContext, config_option, installation_options, pass_app
from ecr_autodeploy.cli.output import show_result
from ecr_autodeploy.core.documents import load_json
from ecr_autodeploy.core.errors import ConfigError


def read_event(path: str) -> object:
    """Return the JSON document in an event file (``-`` for stdin); raise ConfigError naming the file."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as err:
        raise ConfigError(path, f"cannot read event file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"not UTF-8 text (byte {err.start}: {err.reason})") from None
    # The same JSON reader as the rules: duplicate keys, huge numbers and deep nesting are ConfigErrors.
    return load_json(text, path)


@click.command()
@click.argument("event_path", metavar="EVENT.json", type=click.Path(dir_okay=False, allow_dash=True))
@config_option
@click.option("--dry-run", is_flag=True, help="Print the plan and the task-definition change; change nothing.")
@installation_options
@pass_app
def replay(app: AppContext, event_path: str, config_path: str | None, dry_run: bool) -> None:
    """Run the Lambda's code path on a captured event: ECR image, ECS deployment state change, or reconcile."""
    from ecr_autodeploy.cli.diff import plan_diffs, record_plans, render_diffs

    event = read_event(event_path)
    dispatcher = app.app(app.config(config_path), dry_run=dry_run)
    recorder = record_plans(dispatcher.deployer)
    result = dispatcher.handle(event)
    diffs = plan_diffs(dispatcher.deployer, recorder.plans) if dry_run else []
    show_result(result, app.as_json, extra={"diff": [d.to_dict() for d in diffs]} if dry_run else None)
    if diffs and not app.as_json:
        click.echo()
        click.echo(render_diffs(diffs))
