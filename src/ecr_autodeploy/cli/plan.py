"""``ecr-autodeploy plan``: what an event (or a repository and image) would do, changing nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click

from ecr_autodeploy.cli.context import AppContext, config_option, json_option, pass_app
from ecr_autodeploy.cli.output import show_result
from ecr_autodeploy.cli.replay import read_event
from ecr_autodeploy.core.events import DIGEST_RE, ImageEvent, repository_arn


def account_of(app: AppContext) -> str:
    """Return the caller's account id (STS GetCallerIdentity)."""
    from ecr_autodeploy.aws.clients import aws_errors

    with aws_errors("getting caller identity"):
        return str(app.clients().client("sts").get_caller_identity()["Account"])


def synthetic_event(
    app: AppContext, repository: str, tag: str | None, digest: str | None, account: str | None
) -> ImageEvent:
    """Return an image event for a repository and tag/digest given on the command line."""
    if digest is not None and not DIGEST_RE.match(digest):
        raise click.BadParameter("expected sha256: and 64 hex digits", param_hint="--digest")
    region = app.clients().region
    account = account or account_of(app)
    return ImageEvent(
        "manual",
        f"manual-{uuid.uuid4()}",
        datetime.now(UTC).isoformat(timespec="seconds"),
        account,
        region,
        repository,
        repository_arn(account, region, repository),
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
@json_option
@pass_app
def plan(
    app: AppContext,
    event_path: str | None,
    repository: str | None,
    tag: str | None,
    digest: str | None,
    account: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Show what an event would deploy, per target, without changing anything."""
    if (event_path is None) == (repository is None):
        raise click.UsageError("give either EVENT.json or --repository")
    if repository is not None and tag is None and digest is None:
        raise click.UsageError("--repository needs --tag or --digest")
    deployer = app.deployer(app.config(config_path), dry_run=True)
    if event_path is not None:
        result = deployer.handle(read_event(event_path))
    else:
        assert repository is not None  # checked above
        result = deployer.deploy(synthetic_event(app, repository, tag, digest, account))
    show_result(result, as_json)
