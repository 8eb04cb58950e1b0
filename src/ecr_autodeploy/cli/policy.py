"""``ecr-autodeploy policy``: the IAM policy documents, as JSON on stdout (pipe them into IAM)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from ecr_autodeploy.cli.context import AppContext, config_option, pass_app
from ecr_autodeploy.cli.install import name_option, warn
from ecr_autodeploy.cli.output import echo_document, echo_json, table
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.iam import KINDS, TaskAccess, policies, unnamed_pinned_targets
from ecr_autodeploy.core.stack import Site, Stack


def task_access(app: AppContext, config: Config, discover: bool, account: str | None = None) -> TaskAccess:
    """Return the mapped services' families and roles, read from ECS; with `discover` off, only what rules name.

    Without discovery a pinned target whose rule names no ``families`` and ``pass_roles`` gets no register or
    pass-role grant at all (its deploys would be denied): said loudly on stderr, never papered over with ``*``.
    """
    if not discover:
        unnamed = unnamed_pinned_targets(config)
        if unnamed:
            warn(
                (
                    "--no-discover: NOT GRANTED: RegisterTaskDefinition and PassRole for "
                    f"{', '.join(unnamed)}, whose rules name no families and pass_roles: their pinned deploys "
                    "will be denied. Name them in the rules, or run without --no-discover",
                )
            )
        return TaskAccess.unknown()
    from ecr_autodeploy.aws.discovery import discover_task_access

    found = discover_task_access(app.clients(), config, site_of(app, account))
    warn(found.notes)
    return found.access


def site_of(app: AppContext, account: str | None) -> Site:
    """Return the site of `account` (default: the caller's, from STS) in the clients' region."""
    if account is None:
        from ecr_autodeploy.aws.discovery import caller_site

        return caller_site(app.clients())
    if not (account.isdigit() and len(account) == 12):
        raise click.BadParameter("expected a 12-digit account id", param_hint="--account")
    return Site.of(app.clients().region, account)


@click.command()
@config_option
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="execution: the function's role; installer: for running install; console: for creating the rules by "
    "hand; target: per cross-account role_arn, its permissions, trust and the repository policy. "
    "Default: all four, as one JSON object.",
)
@name_option
@click.option("--account", help="Account id for the ARNs (default: the caller's, from STS).")
@click.option("--discover/--no-discover", default=True, show_default=True, help="Read the services' roles from ECS.")
@pass_app
def policy(
    app: AppContext, config_path: str | None, kind: str | None, name: str, account: str | None, discover: bool
) -> None:
    """Print least-privilege IAM policy documents computed from the rules."""
    config = app.config(config_path)
    stack = Stack(name, site_of(app, account))
    found = policies(config, stack, task_access(app, config, discover, account))
    if kind in (None, "target"):
        warn(tuple(f"{arn}: {note}" for arn, part in found["target"].items() for note in part["notes"]))
    chosen = {kind: found[kind]} if kind else found
    if app.output == "table":
        click.echo(statements_table(chosen))
    elif kind:
        echo_document(found[kind])  # the IAM document itself, ready for put-role-policy
    else:
        echo_json(found)


def statements_table(documents: Mapping[str, Mapping[str, Any]]) -> str:
    """Return the statements of policy documents as a table (the documents in full: --output json)."""
    rows = []
    for kind, document in documents.items():
        for statement in document.get("Statement", []):
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            rows.append(
                (
                    kind,
                    statement.get("Sid", "-"),
                    statement.get("Effect", "-"),
                    ", ".join(actions) if isinstance(actions, list) else str(actions),
                    ", ".join(resources) if isinstance(resources, list) else str(resources),
                )
            )
    return table(("KIND", "SID", "EFFECT", "ACTIONS", "RESOURCES"), rows, states=())
