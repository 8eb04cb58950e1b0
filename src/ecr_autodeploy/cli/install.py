"""``ecr-autodeploy install`` and ``uninstall``: set up (or remove) everything in one idempotent command."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ecr_autodeploy.cli.context import AppContext, config_option, pass_app
from ecr_autodeploy.cli.output import echo_json, table
from ecr_autodeploy.cli.progress import Progress
from ecr_autodeploy.core.errors import AutodeployError
from ecr_autodeploy.core.installation import InstallOptions
from ecr_autodeploy.core.patterns import RECONCILE_SCHEDULE
from ecr_autodeploy.core.stack import DEFAULT_NAME

if TYPE_CHECKING:
    from ecr_autodeploy.aws.step_runner import Done
    from ecr_autodeploy.core.installation import Step

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
    @click.option(
        "--function-timeout", type=int, default=120, show_default=True, help="The function's own timeout (seconds)."
    )
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
        function_timeout: int,
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
            timeout=function_timeout,
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
@click.option("--dry-run", is_flag=True, help="Print every call install would make; change nothing.")
@pass_app
def install(
    app: AppContext,
    config_path: str | None,
    options: InstallOptions,
    package_path: str | None,
    dry_run: bool,
) -> None:
    """Create or update the function, its role and policy, rules, permissions, targets, queues and table."""
    from ecr_autodeploy.aws.installer import install as run_install
    from ecr_autodeploy.aws.lambda_package import build_package

    config = app.config(config_path)
    package = Path(package_path).read_bytes() if package_path else build_package().data
    with steps_progress("install", app.as_json or dry_run) as (on_plan, on_step):
        report = run_install(app.clients(), config, options, package, dry_run=dry_run, on_step=on_step, on_plan=on_plan)
    warn(report.notes)
    if app.as_json:
        echo_json(report.to_dict())
        return
    if dry_run:
        click.echo(plan_table(report.planned))
        return
    click.echo(
        f"installed {report.function_arn}: rules {', '.join(report.rule_names)}; dead letters in {report.dlq_arn}"
    )


@click.command()
@name_option
@click.option("--dry-run", is_flag=True, help="Print every call uninstall would make; change nothing.")
@click.option(
    "--discard-dead-letters",
    is_flag=True,
    help="Delete the dead-letter queues even when they hold messages (see `ecr-autodeploy dlq list`).",
)
@pass_app
def uninstall(app: AppContext, name: str, dry_run: bool, discard_dead_letters: bool) -> None:
    """Remove everything install created for NAME (targets before rules); what is already gone is fine."""
    from ecr_autodeploy.aws.installer import uninstall as run_uninstall
    from ecr_autodeploy.cli.dlq import QUEUES, queues_of

    queues = queues_of(app, name)
    held = {queues.names[k]: n for k in QUEUES if (n := queues.depth(k))}
    if held and not discard_dead_letters:
        counts = ", ".join(f"{queue} holds {n} message{'' if n == 1 else 's'}" for queue, n in held.items())
        text = (
            f"uninstall {name}: {counts} (events that were never deployed): look with `ecr-autodeploy dlq list`, "
            "redrive them with `ecr-autodeploy dlq redrive --all`, or pass --discard-dead-letters to delete them"
        )
        if not dry_run:
            raise AutodeployError(text)
        warn((text,))
    with steps_progress("uninstall", app.as_json or dry_run) as (on_plan, on_step):
        report = run_uninstall(
            app.clients(), InstallOptions(name=name), dry_run=dry_run, on_step=on_step, on_plan=on_plan
        )
    if app.as_json:
        echo_json(report.to_dict())
        return
    if dry_run:
        click.echo(plan_table(report.planned))
        return
    removed = sum(1 for done in report.steps if done.action == "deleted")
    gone = sum(1 for done in report.steps if done.action == "absent")
    click.echo(f"uninstalled {name}: {removed} removed, {gone} already gone")


def plan_table(planned: Sequence[Step]) -> str:
    """Return an install or uninstall plan as a table (the parameters in full: --output json)."""
    rows = [(str(i), s.step, s.resource, f"{s.service}:{s.operation}") for i, s in enumerate(planned, 1)]
    return table(("#", "STEP", "RESOURCE", "CALL"), rows, states=())


@contextmanager
def steps_progress(
    title: str, quiet: bool
) -> Iterator[tuple[Callable[[Sequence[Step]], None] | None, Callable[[Done], None] | None]]:
    """Yield (on_plan, on_step) showing a progress bar over the steps on a terminal, a line per step otherwise."""
    if quiet:
        yield None, None
        return
    with Progress(title) as progress:

        def on_plan(planned: Sequence[Step]) -> None:
            progress.set_total(len(planned))

        def on_step(done: Done) -> None:
            progress.say(done.describe())  # a permanent line per step; the bar (on a terminal) counts them
            if progress.live:
                progress.update(f"{done.step.step} {done.step.resource}", advance=1)

        yield on_plan, on_step
