"""``ecr-autodeploy pause``: a freeze. While a pause covers a service, every event for it (and reconcile) is logged
and skipped, ``skipped: paused (REASON)``; ``ecr-autodeploy resume`` lifts it, and the scheduled reconcile then
deploys the newest allowed image, never every event in between."""

from __future__ import annotations

import time

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.cli.plan import caller
from ecr_autodeploy.core.pauses import SCOPE_ALL, Pause, rule_scope, service_scope


def scope_options(verb: str) -> list[click.Option]:
    """Return --rule, --service and --all, saying what `verb` covers."""
    return [
        click.Option(
            ["--rule", "rule"], type=click.IntRange(min=0), help=f"{verb} the targets of rules[N] (N from 0)."
        ),
        click.Option(
            ["--service", "service"],
            metavar="CLUSTER/SERVICE",
            help=f"{verb} one service, in the command's region (--region).",
        ),
        click.Option(["--all", "everything"], is_flag=True, help=f"{verb} every deploy of the installation."),
    ]


def scope_of(app: AppContext, rule: int | None, service: str | None, everything: bool) -> str:
    """Return the one scope the options name; raise UsageError unless exactly one is given."""
    given = [x for x in (rule is not None, service is not None, everything) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --rule N, --service CLUSTER/SERVICE or --all")
    if everything:
        return SCOPE_ALL
    if rule is not None:
        return rule_scope(rule)
    assert service is not None  # one of the three was given
    cluster, _, name = service.partition("/")
    if not cluster or not name or "/" in name:
        raise click.BadParameter("expected CLUSTER/SERVICE, e.g. shop/api", param_hint="--service")
    return service_scope(f"{app.clients().region}/{cluster}/{name}")


def with_scope(command: click.Command, verb: str) -> click.Command:
    """Add the scope options to a command."""
    command.params[:0] = scope_options(verb)
    return command


@click.command()
@click.option("--reason", help="Why, shown in every skipped outcome (default: who paused).")
@click.option("--dry-run", is_flag=True, help="Say what would be paused; change nothing.")
@installation_options
@pass_app
def pause(
    app: AppContext, rule: int | None, service: str | None, everything: bool, reason: str | None, dry_run: bool
) -> None:
    """Pause deploys (a freeze) of a rule, a service, or all: events are logged and skipped until `resume`."""
    scope = scope_of(app, rule, service, everything)
    book = app.gate_book()
    _, arn = caller(app)
    wanted = Pause(scope, reason or f"by {arn or 'the caller'}", arn or None, time.time())
    replaced = None if dry_run else book.pause(wanted)
    if app.as_json:
        echo_json(
            {
                "paused": {"scope": scope, "reason": wanted.reason, "by": wanted.by},
                "replaced": replaced.reason if replaced else None,
                "dry_run": dry_run,
            }
        )
        return
    done = "would pause" if dry_run else "paused"
    again = f" (was paused: {replaced.reason})" if replaced else ""
    click.echo(
        f"{done} {wanted.covers} ({wanted.reason}){again}: events are logged and skipped until "
        f"`ecr-autodeploy resume {wanted.resume_flags}`"
    )


with_scope(pause, "Pause")
