"""``ecr-autodeploy dlq``: list, show and redrive what landed in the installation's dead-letter queues.

``NAME-dlq`` holds the events the function failed on after Lambda's retries; ``NAME-target-dlq`` the events
EventBridge could not hand to the function. ``redrive`` sends each event to the function again (an asynchronous
invoke), or with ``--local`` runs the Lambda's code path here, as ``replay`` does; a message is deleted only
once its event was handed over (or, locally, handled without error).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from ecr_autodeploy.aws.dlq import DeadLetter, DeadLetterQueues, QueueKind
from ecr_autodeploy.cli.context import AppContext, config_option, pass_app
from ecr_autodeploy.cli.output import echo_json, table
from ecr_autodeploy.core.errors import AutodeployError, ConfigError
from ecr_autodeploy.core.stack import DEFAULT_NAME, Site, Stack

QUEUES: tuple[QueueKind, ...] = ("function", "target")
name_option = click.option("--name", default=DEFAULT_NAME, show_default=True, help="The installation.")
queue_option = click.option(
    "--queue",
    type=click.Choice(["function", "target", "all"]),
    default="all",
    show_default=True,
    help="function: events the function failed on; target: events EventBridge could not deliver.",
)


def queues_of(app: AppContext, name: str) -> DeadLetterQueues:
    """Return the dead-letter queues of installation `name`."""
    stack = Stack(name, Site.of(app.clients().region, ""))
    return DeadLetterQueues(app.clients(), {"function": stack.dlq_name, "target": stack.target_dlq_name})


def _chosen(queue: str) -> tuple[QueueKind, ...]:
    return QUEUES if queue == "all" else (queue,)  # type: ignore[return-value]


@click.group()
def dlq() -> None:
    """List, show and redrive the events in the dead-letter queues."""


@dlq.command("list")
@name_option
@queue_option
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Messages per queue.")
@pass_app
def list_command(app: AppContext, name: str, queue: str, limit: int) -> None:
    """List the messages of the dead-letter queues (looking hides none of them)."""
    queues = queues_of(app, name)
    found: list[DeadLetter] = []
    depths: dict[QueueKind, int | None] = {}
    for kind in _chosen(queue):
        depths[kind] = queues.depth(kind)
        found.extend(queues.peek(kind, limit))
    if app.as_json:
        echo_json(
            {
                "queues": {k: {"name": queues.names[k], "messages": depths[k]} for k in depths},
                "messages": [d.to_dict() for d in found],
            }
        )
        return
    for kind, depth in depths.items():
        held = "does not exist" if depth is None else f"{depth} message{'' if depth == 1 else 's'}"
        click.echo(f"{queues.names[kind]} ({kind}): {held}", err=True)
    rows = [(d.queue, d.message_id, d.sent_at, d.event_id, (d.event or {}).get("detail-type"), d.error) for d in found]
    click.echo(table(("QUEUE", "MESSAGE", "SENT", "EVENT", "DETAIL TYPE", "ERROR"), rows, states=()))


@dlq.command("show")
@click.argument("message_id")
@name_option
@queue_option
@pass_app
def show_command(app: AppContext, message_id: str, name: str, queue: str) -> None:
    """Show one message: why it landed there and the whole event it holds."""
    import json

    queues = queues_of(app, name)
    letter = next((d for kind in _chosen(queue) for d in queues.peek(kind) if d.message_id == message_id), None)
    if letter is None:
        raise ConfigError(message_id, f"no such message in the dead-letter queues of {name}")
    if app.as_json:
        echo_json(letter.to_dict(full=True))
        return
    for key, value in letter.to_dict().items():
        click.echo(f"{key + ':':<13}{'-' if value is None else value}")
    click.echo("event:")
    click.echo(json.dumps(letter.event, indent=2) if letter.event is not None else letter.body)


@dlq.command("redrive")
@click.argument("message_ids", nargs=-1)
@name_option
@queue_option
@click.option("--all", "every", is_flag=True, help="Every message (else only the MESSAGE_IDs given).")
@click.option("--local", is_flag=True, help="Run the Lambda's code path here (as replay does), not the function.")
@config_option
@click.option("--dry-run", is_flag=True, help="List what would be redriven; change nothing.")
@pass_app
def redrive_command(
    app: AppContext,
    message_ids: tuple[str, ...],
    name: str,
    queue: str,
    every: bool,
    local: bool,
    config_path: str | None,
    dry_run: bool,
) -> None:
    """Send the events back to the function (or, with --local, run them here); delete what was redriven."""
    if bool(message_ids) == every:
        raise click.UsageError("give MESSAGE_IDs or --all")
    queues = queues_of(app, name)
    taken = [d for kind in _chosen(queue) for d in (queues.peek(kind) if dry_run else queues.take(kind))]
    chosen = [d for d in taken if every or d.message_id in message_ids]
    missing = sorted(set(message_ids) - {d.message_id for d in chosen})
    if missing:
        raise ConfigError(", ".join(missing), f"no such message in the dead-letter queues of {name}")
    if dry_run:
        _report(app, [(d, "would redrive") for d in chosen])
        return
    done = [(d, _redrive(app, queues, d, name, local, config_path)) for d in chosen]
    _report(app, done)
    failed = [d for d, result in done if not result.startswith("redriven")]
    if failed:
        raise AutodeployError(f"{len(failed)} of {len(done)} dead letters not redriven (left in the queue)")


def _redrive(
    app: AppContext, queues: DeadLetterQueues, letter: DeadLetter, name: str, local: bool, config_path: str | None
) -> str:
    """Return what became of one message: redriven (and deleted), or why not (left in the queue)."""
    import json

    if letter.event is None:
        return "not redriven: the message holds no event"
    try:
        if local:
            app.app(app.config(config_path)).handle(dict(letter.event))
        else:
            from ecr_autodeploy.aws.clients import aws_errors

            with aws_errors("invoking the function", name):
                app.clients().client("lambda").invoke(
                    FunctionName=name, InvocationType="Event", Payload=json.dumps(letter.event).encode()
                )
    except AutodeployError as err:
        return f"not redriven: {err}"
    queues.delete(letter)
    return "redriven here" if local else "redriven to the function"


def _report(app: AppContext, done: Sequence[tuple[DeadLetter, str]]) -> None:
    if app.as_json:
        echo_json({"messages": [{**d.to_dict(), "result": result} for d, result in done]})
        return
    rows = [(d.queue, d.message_id, d.event_id, result) for d, result in done]
    click.echo(table(("QUEUE", "MESSAGE", "EVENT", "RESULT"), rows, states=()))
