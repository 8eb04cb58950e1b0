"""``ecr-autodeploy plan``: what an event (or a repository and image) would do, changing nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click

from ecr_autodeploy.cli.context import AppContext, config_option, installation_options, pass_app
from ecr_autodeploy.cli.diff import plan_diffs, record_plans, render_diffs
from ecr_autodeploy.cli.output import show_result
from ecr_autodeploy.cli.replay import read_event
from ecr_autodeploy.core.events import DIGEST_RE, ImageEvent, repository_arn


def caller(app: AppContext) -> tuple[str, str]:
    """Return the caller's account id and ARN (STS GetCallerIdentity)."""
    from ecr_autodeploy.aws.clients import aws_errors

    with aws_errors("getting caller identity"):
        found = app.clients().client("sts").get_caller_identity()
    return str(found["Account"]), str(found.get("Arn", ""))


def account_of(app: AppContext) -> str:
    """Return the caller's account id (STS GetCallerIdentity)."""
    return caller(app)[0]


def synthetic_event(
    app: AppContext, repository: str, tag: str | None, digest: str | None, account: str | None
) -> ImageEvent:
    """Return an image event for a repository and tag/digest given on the command line, naming who asked."""
    if digest is not None and not DIGEST_RE.match(digest):
        raise click.BadParameter("expected sha256: and 64 hex digits", param_hint="--digest")
    region = app.clients().region
    own, arn = caller(app)
    # The event id is recorded with the deployment (and tagged on its revision): `history` shows who deployed.
    by = f" by {arn}" if arn else ""
    return ImageEvent(
        "manual",
        f"manual-{uuid.uuid4()}{by}",
        datetime.now(UTC).isoformat(timespec="seconds"),
        account or own,
        region,
        repository,
        repository_arn(account or own, region, repository),
        tag,
        digest,
    )


@click.command()
@click.argument("event_path", metavar="[EVENT.json]", required=False, type=click.Path(dir_okay=False))
@click.option("--repository", help="Plan for this repository instead of an event file.")
@click.option("--tag", help="With --repository: the image tag.")
@click.option("--digest", help="With --repository: the image digest (sha256:...).")
@click.option("--account", help="With --repository: the registry's account (default: the caller's).")
@config_option
@installation_options
@pass_app
def plan(
    app: AppContext,
    event_path: str | None,
    repository: str | None,
    tag: str | None,
    digest: str | None,
    account: str | None,
    config_path: str | None,
) -> None:
    """Show what an event would deploy, per target, and the task-definition change; change nothing."""
    if (event_path is None) == (repository is None):
        raise click.UsageError("give either EVENT.json or --repository")
    if repository is not None and tag is None and digest is None:
        raise click.UsageError("--repository needs --tag or --digest")
    deployer = app.deployer(app.config(config_path), dry_run=True)
    recorder = record_plans(deployer)
    if event_path is not None:
        result = deployer.handle(read_event(event_path))
    else:
        assert repository is not None  # checked above
        result = deployer.deploy(synthetic_event(app, repository, tag, digest, account))
    diffs = plan_diffs(deployer, recorder.plans)
    show_result(result, app.as_json, extra={"diff": [d.to_dict() for d in diffs]})
    if diffs and not app.as_json:
        click.echo()
        click.echo(render_diffs(diffs))
