"""``ecr-autodeploy resume``: lift a pause; the scheduled reconcile then deploys the newest allowed image."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.cli.pause import scope_of, with_scope
from ecr_autodeploy.core.pauses import SCOPE_ALL, Pause

CATCH_UP = (
    "the scheduled reconcile deploys the newest allowed image within 15 minutes (never every event in between); "
    "`ecr-autodeploy reconcile --config FILE` does it now"
)


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be resumed; change nothing.")
@installation_options
@pass_app
def resume(app: AppContext, rule: int | None, service: str | None, everything: bool, dry_run: bool) -> None:
    """Lift the pause of a rule or a service, or (--all) every pause; exit 0 also when nothing was paused."""
    scope = scope_of(app, rule, service, everything)
    book = app.gate_book()
    scopes = None if scope == SCOPE_ALL else [scope]
    lifted = _covered(book.pauses().items, scopes) if dry_run else book.resume(scopes)
    if app.as_json:
        echo_json({"resumed": [{"scope": p.scope, "reason": p.reason, "by": p.by} for p in lifted], "dry_run": dry_run})
        return
    if not lifted:
        left = ", ".join(p.covers for p in book.pauses().items) or "nothing"
        click.echo(f"nothing to resume there (paused now: {left})", err=True)
        return
    done = "would resume" if dry_run else "resumed"
    for p in lifted:
        click.echo(f"{done} {p.covers} (paused: {p.reason})")
    if not dry_run:
        click.echo(CATCH_UP, err=True)


with_scope(resume, "Resume")


def _covered(pauses: Sequence[Pause], scopes: Sequence[str] | None) -> list[Pause]:
    return [p for p in pauses if scopes is None or p.scope in scopes]
