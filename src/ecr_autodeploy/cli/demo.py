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
            follower = follow_function(live)
            try:
                wait_for_stop()
            finally:
                follower.set()
            click.echo("stopping the emulator", err=True)

    try:
        summary = Demo(progress).run(on_done=done)
    except (TimeoutError, RuntimeError) as err:  # the emulator glue could not set the demo up
        raise click.ClickException(f"demo: {err}") from err
    if not summary.ok:
        raise click.exceptions.Exit(1)


def follow_function(live: Running) -> threading.Event:
    """Print, from now on, a line for every event the function handles; return the event that stops it."""
    from ecr_autodeploy.local.demo_steps import invocation_line

    stop = threading.Event()
    seen = len(live.delivery.invocations)

    def run() -> None:
        nonlocal seen
        while not stop.wait(0.2):
            for invocation in live.delivery.invocations[seen:]:
                click.echo(f"  {invocation_line(invocation, image=True)}", err=True)
                seen += 1

    threading.Thread(target=run, name="demo-follower", daemon=True).start()
    return stop


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
    """Return the endpoint, and commands to push an image, look around and replay an event on the emulator."""
    import json

    from ecr_autodeploy.local.images import manifest

    url = summary.endpoint
    deploy = f"--endpoint-url {url} --region {summary.deploy_region}"
    build = f"--endpoint-url {url} --region {summary.build_region}"
    world = live.world
    workdir = world.rules_path.parent
    image = workdir / "manifest.json"
    image.write_text(manifest("pushed by hand"), encoding="utf-8")
    first = next((i for i in live.delivery.invocations if i.event.get("detail-type") == "ECR Replication Action"), None)
    event = workdir / "event.json"
    if first is not None:
        event.write_text(json.dumps(first.event, indent=2), encoding="utf-8")
    return "\n".join(
        [
            "",
            f"The emulator keeps running on {url} (replication, event delivery and ECS rollouts too).",
            "Push an image in the build region; it is replicated, and what the function does is printed here:",
            "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
            f"  aws {build} ecr put-image --repository-name shop/api --image-tag 1.7.0 --image-manifest file://{image}",
            "Follow it, and look around, with this tool or the AWS CLI:",
            f"  ecr-autodeploy {deploy} watch --interval 0.5",
            f"  ecr-autodeploy {deploy} status --config {world.rules_path}",
            f"  ecr-autodeploy {deploy} history --cluster {world.cluster} --service api",
            f"  aws {deploy} ecs describe-services --cluster {world.cluster} --services api worker web",
            f"  aws {deploy} ecr describe-images --repository-name shop/api",
            "Run the function's code on an event yourself (`aws lambda invoke` would need Docker on the emulator):",
            f"  ecr-autodeploy {deploy} replay {event} --config {world.rules_path} --dry-run",
            f"Rules file: {world.rules_path}",
            "Press Ctrl-C to stop.",
        ]
    )
