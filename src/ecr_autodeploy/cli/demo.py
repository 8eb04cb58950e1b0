"""``ecr-autodeploy demo``: the whole pipeline on an embedded AWS emulator, no AWS account and no Docker needed."""

from __future__ import annotations

import importlib.util
import signal
import threading
from typing import TYPE_CHECKING

import click

from ecr_autodeploy.cli.context import AppContext, pass_app
from ecr_autodeploy.cli.output import echo_json, table

if TYPE_CHECKING:
    from ecr_autodeploy.local.scenarios import Running
    from ecr_autodeploy.local.summary import Summary


@click.command()
@click.option(
    "--keep-running", is_flag=True, help="Leave the emulator up afterwards, with example aws commands, until Ctrl-C."
)
@pass_app
def demo(app: AppContext, keep_running: bool) -> None:
    """Push, replicate, deliver, deploy and roll out on an embedded emulator; exit 0 only if all went as expected.

    Progress goes to stderr; the summary to stdout (with --json, only the summary, as JSON).
    """
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise click.ClickException("the demo needs the emulator: pip install 'ecr-autodeploy[demo]' (moto[server])")
    from ecr_autodeploy.local.scenarios import Demo

    def progress(line: str) -> None:
        click.echo(line, err=True)

    def done(summary: Summary, live: Running) -> None:
        if app.as_json:
            echo_json(summary.to_dict())
        else:
            click.echo(render(summary))
        if keep_running:
            click.echo(keep_running_help(summary, live), err=True)
            wait_for_stop()
            click.echo("stopping the emulator", err=True)

    try:
        summary = Demo(progress).run(on_done=done)
    except (TimeoutError, RuntimeError) as err:  # the emulator glue could not set the demo up
        raise click.ClickException(f"demo: {err}") from err
    if not summary.ok:
        raise click.exceptions.Exit(1)


def wait_for_stop() -> None:
    """Return on Ctrl-C or SIGTERM (also when the shell started this process with SIGINT ignored)."""
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def render(summary: Summary) -> str:
    """Return the summary as tables for people."""
    lines = []
    for scenario in summary.scenarios:
        verdict = "ok" if scenario.ok else "NOT AS EXPECTED"
        lines.append(f"\nScenario {scenario.number}: {scenario.title} [{verdict}]")
        rows = [
            (r.service, f"{r.before} -> {r.after}", (r.digest or "-")[:19], r.outcome, r.rollout, f"{r.seconds:.1f}s")
            for r in scenario.rows
        ]
        lines.append(table(("SERVICE", "IMAGE BEFORE -> AFTER", "DIGEST", "OUTCOME", "ROLLOUT", "TIME"), rows))
        for check in scenario.checks:
            if not check.ok:
                lines.append(f"  failed check: {check.what}: {check.detail}")
    for problem in summary.problems:
        lines.append(f"emulator problem: {problem}")
    verdict = "every scenario behaved as expected" if summary.ok else "NOT every scenario behaved as expected"
    lines.append(f"\n{verdict} ({summary.seconds:.1f}s, {summary.invocations} function invocations)")
    return "\n".join(lines)


def keep_running_help(summary: Summary, live: Running) -> str:
    """Return the endpoint and example aws commands for looking around the emulator."""
    url = summary.endpoint
    deploy = f"--endpoint-url {url} --region {summary.deploy_region}"
    build = f"--endpoint-url {url} --region {summary.build_region}"
    world = live.world
    return "\n".join(
        [
            "",
            f"The emulator keeps running on {url} (replication, event delivery and ECS rollouts too). Try:",
            "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
            f"  aws {deploy} ecs describe-services --cluster {world.cluster} --services api worker web",
            f"  aws {deploy} ecs list-task-definitions --family-prefix shop-api",
            f"  aws {deploy} ecr describe-images --repository-name shop/api",
            f"  aws {build} ecr describe-registry",
            f"  aws {deploy} events list-targets-by-rule --rule {(summary.rules or (summary.function,))[0]}",
            f"  aws {deploy} lambda get-function-configuration --function-name {summary.function}",
            f"Rules file: {world.rules_path}",
            "Press Ctrl-C to stop.",
        ]
    )
