"""``ecr-autodeploy install`` and ``uninstall``: set up (or remove) everything in one idempotent command."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ecr_autodeploy.cli.context import AppContext, config_option, json_option, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.core.installation import InstallOptions
from ecr_autodeploy.core.patterns import RECONCILE_SCHEDULE
from ecr_autodeploy.core.stack import DEFAULT_NAME

F = TypeVar("F", bound=Callable[..., Any])

name_option = click.option(
    "--name", default=DEFAULT_NAME, show_default=True, help="Name of the function; every resource derives from it."
)


def install_options(command: F) -> F:
    """Add the options that shape an install (shared by `install` and `template`); pass them as `options`."""

    @click.option("--cloudtrail", is_flag=True, help="Also route CloudTrail ReplicateImage/PutImage events.")
    @click.option("--snapstart", is_flag=True, help="Lambda SnapStart: published version + alias, faster cold start.")
    @click.option(
        "--schedule",
        default=RECONCILE_SCHEDULE,
        show_default=True,
        help="Reconcile schedule expression; 'none' for no schedule.",
    )
    @click.option("--retries", type=int, default=2, show_default=True, help="Lambda async retries (0-2).")
    @click.option(
        "--max-event-age", type=int, default=6 * 3600, show_default=True, help="Seconds Lambda keeps retrying."
    )
    @click.option("--memory", type=int, default=256, show_default=True, help="Function memory (MB).")
    @click.option("--timeout", type=int, default=120, show_default=True, help="Function timeout (seconds).")
    @click.option("--runtime", default="python3.12", show_default=True, help="Lambda Python runtime.")
    @name_option
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        name: str,
        cloudtrail: bool,
        snapstart: bool,
        schedule: str,
        retries: int,
        max_event_age: int,
        memory: int,
        timeout: int,
        runtime: str,
        **kwargs: Any,
    ) -> Any:
        options = InstallOptions(
            name=name,
            cloudtrail=cloudtrail,
            snapstart=snapstart,
            retries=retries,
            max_event_age=max_event_age,
            schedule=None if schedule.strip().lower() in ("", "none") else schedule,
            memory=memory,
            timeout=timeout,
            runtime=runtime,
        )
        return command(*args, options=options, **kwargs)

    return wrapper  # type: ignore[return-value]


def warn(notes: tuple[str, ...]) -> None:
    """Print notes on stderr (stdout stays data)."""
    for note in notes:
        click.echo(f"warning: {note}", err=True)


@click.command()
@config_option
@install_options
@click.option(
    "--package",
    "package_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Use this Lambda zip (from `ecr-autodeploy package`) instead of building one.",
)
@click.option("--dry-run", is_flag=True, help="Print every call install would make, as JSON; change nothing.")
@json_option
@pass_app
def install(
    app: AppContext,
    config_path: str | None,
    options: InstallOptions,
    package_path: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Create or update the function, its role and policy, rules, permissions, targets, queues and table."""
    from ecr_autodeploy.aws.installer import install as run_install
    from ecr_autodeploy.aws.lambda_package import build_package

    config = app.config(config_path)
    package = Path(package_path).read_bytes() if package_path else build_package().data
    show = None if (as_json or dry_run) else (lambda done: click.echo(done.describe()))
    report = run_install(app.clients(), config, options, package, dry_run=dry_run, on_step=show)
    warn(report.notes)
    if as_json or dry_run:
        echo_json(report.to_dict())
        return
    click.echo(
        f"installed {report.function_arn}: rules {', '.join(report.rule_names)}; dead letters in {report.dlq_arn}"
    )


@click.command()
@name_option
@click.option("--dry-run", is_flag=True, help="Print every call uninstall would make, as JSON; change nothing.")
@json_option
@pass_app
def uninstall(app: AppContext, name: str, dry_run: bool, as_json: bool) -> None:
    """Remove everything install created for NAME (targets before rules); what is already gone is fine."""
    from ecr_autodeploy.aws.installer import uninstall as run_uninstall

    show = None if (as_json or dry_run) else (lambda done: click.echo(done.describe()))
    report = run_uninstall(app.clients(), InstallOptions(name=name), dry_run=dry_run, on_step=show)
    if as_json or dry_run:
        echo_json(report.to_dict())
        return
    removed = sum(1 for done in report.steps if done.action == "deleted")
    gone = sum(1 for done in report.steps if done.action == "absent")
    click.echo(f"uninstalled {name}: {removed} removed, {gone} already gone")
