"""``ecr-autodeploy deploy``: a manual deploy of one image to one service, with the same engine as events."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, json_option, pass_app
from ecr_autodeploy.cli.plan import synthetic_event
from ecr_autodeploy.cli.replay import show_failure, show_result
from ecr_autodeploy.core.errors import DeployError
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.planning import split_image
from ecr_autodeploy.core.tags import TagPolicy


@click.command()
@click.option("--cluster", required=True, help="ECS cluster name.")
@click.option("--service", required=True, help="ECS service name.")
@click.option("--image", required=True, help="REPO:TAG or REPO@sha256:DIGEST (a full ECR URI works too).")
@click.option("--strategy", type=click.Choice(["pin", "force"]), default="pin", show_default=True)
@click.option("--container", "containers", multiple=True, help="Only these containers (repeatable).")
@click.option("--allow-downgrade", is_flag=True, help="Deploy even if the service runs a newer image.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
@pass_app
def deploy(
    app: AppContext,
    cluster: str,
    service: str,
    image: str,
    strategy: str,
    containers: tuple[str, ...],
    allow_downgrade: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Deploy one image to one service: pinned by digest (default) or as a forced new deployment."""
    host, repository, tag, digest = split_image(image)
    if tag is None and digest is None:
        raise click.BadParameter("give a tag (REPO:TAG) or a digest (REPO@sha256:...)", param_hint="--image")
    account = host.split(".", 1)[0] if host else None
    event = synthetic_event(app, repository, tag, digest, account)
    target = Target(
        cluster=cluster,
        service=service,
        region=event.region,
        role_arn=None,
        containers=containers or None,
        strategy="force" if strategy == "force" else "pin",
        tags=TagPolicy(untagged=True),
        allow_downgrade=allow_downgrade,
        rollback=False,
        rule=None,
    )
    try:
        result = app.deployer(app.config_or_empty()).deploy_targets(event, [target], dry_run=dry_run)
    except DeployError as err:
        show_failure(err, as_json)
        raise
    show_result(result, as_json)
