"""The CLI as a person runs it: a subprocess against an emulator, in a pipe, at COLUMNS=100, with Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ecr_autodeploy.core.installation import ledger_key_schema
from ecr_autodeploy.local.images import manifest

pytestmark = pytest.mark.e2e
COMMAND = [sys.executable, "-m", "ecr_autodeploy"]
REGION = "us-east-1"
ACCOUNT = "123456789012"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
RULES = {
    "rules": [
        {
            "repository": "shop/api",
            "tags": ["v*"],
            "targets": [{"cluster": "shop", "service": f"service-with-a-rather-long-name-{i}"} for i in range(3)],
        }
    ]
}
VERBS = [
    "replay", "plan", "diff", "deploy", "watch", "rollback", "history", "validate", "demo", "install", "uninstall",
    "policy", "template", "package", "reconcile", "status", "dlq", "dlq list", "dlq show", "dlq redrive",
]  # fmt: skip
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    world(url)
    yield url
    moto.stop()


def world(url: str) -> None:
    """An installation's ledger, a repository with two images, a cluster with three long-named services."""

    def client(service: Any) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    attributes, keys = ledger_key_schema()
    client("dynamodb").create_table(
        TableName="ecr-autodeploy-ledger",
        AttributeDefinitions=attributes,
        KeySchema=keys,
        BillingMode="PAY_PER_REQUEST",
    )
    ecr = client("ecr")
    ecr.create_repository(repositoryName="shop/api")
    for tag in ("v0", "v1"):
        ecr.put_image(repositoryName="shop/api", imageManifest=manifest(tag), imageTag=tag)
    ecs = client("ecs")
    ecs.create_cluster(clusterName="shop")
    for i in range(3):
        name = f"service-with-a-rather-long-name-{i}"
        arn = ecs.register_task_definition(
            family=f"shop-{name}",
            containerDefinitions=[{"name": "app", "image": f"{HOST}/shop/api:v0", "memory": 256}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="shop", serviceName=name, taskDefinition=arn, desiredCount=2)


def environment(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("COLUMNS", "NO_COLOR")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def cli(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout and stderr piped (not a terminal), as a script or `| less` does."""
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=120, env=environment(**env), check=False
    )


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES))
    return path


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str) -> None:
    done = cli(*verb.split(), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: ")
    assert "--output" in done.stdout or verb == "dlq"


def test_tables_fit_100_columns_in_a_pipe_without_colour(server: str, rules: Path) -> None:
    for args in (
        ("status", "--config", str(rules)),
        ("reconcile", "--config", str(rules), "--dry-run"),
        ("plan", "--repository", "shop/api", "--tag", "v1", "--config", str(rules)),
        ("policy", "--config", str(rules), "--no-discover", "--output", "table"),
        ("install", "--config", str(rules), "--dry-run"),
    ):
        done = cli(*args, "--endpoint-url", server, COLUMNS="100")
        assert done.returncode == 0, (args, done.stderr)
        lines = done.stdout.splitlines()
        assert lines, args
        assert max(len(line) for line in lines) <= 100, (args, max(lines, key=len))
        assert not ANSI.search(done.stdout + done.stderr), args
    wide = cli("status", "--config", str(rules), "--endpoint-url", server, COLUMNS="250")
    assert max(len(line) for line in wide.stdout.splitlines()) > 100  # the same table, in full when there is room


def test_json_is_the_same_whatever_the_width(server: str, rules: Path) -> None:
    narrow = cli("status", "--config", str(rules), "--endpoint-url", server, "--json", COLUMNS="40")
    data = json.loads(narrow.stdout)
    assert data["schema_version"] == 1
    assert {s["service"] for s in data["services"]} == {
        f"{REGION}/shop/service-with-a-rather-long-name-{i}" for i in range(3)
    }


def test_a_missing_profile_is_one_line_saying_what_to_do() -> None:
    done = cli("status", AWS_PROFILE="no-such-profile")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: AWS profile 'no-such-profile' not found")
    assert "AWS_PROFILE" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_region_names_both_variables(rules: Path) -> None:
    done = cli("status", "--config", str(rules), AWS_REGION=None, AWS_DEFAULT_REGION=None)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: no AWS region")
    assert "AWS_REGION" in line
    assert "AWS_DEFAULT_REGION" in line


def test_no_credentials_is_one_line_saying_what_to_do(rules: Path) -> None:
    done = cli("status", "--config", str(rules), AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: no AWS credentials found")
    assert "aws configure" in line


def test_no_connection_is_one_line_saying_what_to_do(rules: Path) -> None:
    done = cli("status", "--config", str(rules), "--endpoint-url", "http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: cannot reach AWS")
    assert "--endpoint-url" in line


def test_a_service_endpoint_wins_over_the_general_one(server: str, rules: Path) -> None:
    services = {f"AWS_ENDPOINT_URL_{s}": server for s in ("STS", "ECR", "ECS", "DYNAMODB")}
    done = cli("status", "--config", str(rules), AWS_ENDPOINT_URL="http://127.0.0.1:9", **services)
    assert done.returncode == 0, done.stderr


def test_notes_are_said_once_and_no_json_log_line_reaches_stderr(server: str, rules: Path) -> None:
    done = cli("reconcile", "--config", str(rules), "--dry-run", "--no-ledger", "--endpoint-url", server)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: --no-ledger") == 1
    assert not any(line.lstrip().startswith("{") for line in done.stderr.splitlines())


def test_debug_shows_the_json_decisions_and_botocore_with_secrets_scrubbed(server: str, rules: Path) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    done = cli(
        "plan", "--repository", "shop/api", "--tag", "v1", "--config", str(rules), "--endpoint-url", server,
        "--debug", AWS_ACCESS_KEY_ID=key,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"status": "planned"' in done.stderr  # the engine's JSON decision line
    assert "botocore" in done.stderr
    assert "Signature=***" in done.stderr
    assert key not in done.stderr


# A shell starts a background job with SIGINT ignored, and a Python started so keeps it ignored (no
# KeyboardInterrupt ever): the CLI is started with SIGINT at its default, as a terminal starts it.
AS_FROM_A_TERMINAL = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.executable, sys.argv[1:])",
    *COMMAND,
]


def test_ctrl_c_exits_130_quietly(server: str) -> None:
    waiting = subprocess.Popen(
        [*AS_FROM_A_TERMINAL, "deploy", "--cluster", "shop", "--service", "service-with-a-rather-long-name-0",
         "--image", "shop/api:v1", "--endpoint-url", server, "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(PYTHONFAULTHANDLER="1"),
    )  # fmt: skip
    try:
        assert waiting.stderr is not None
        deadline = time.monotonic() + 60
        for line in waiting.stderr:  # moto never completes the rollout: the deploy waits until interrupted
            if "IN_PROGRESS" in line or time.monotonic() > deadline:
                break
        waiting.send_signal(signal.SIGINT)
        try:
            _, err = waiting.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            waiting.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _, err = waiting.communicate(timeout=15)
            pytest.fail(f"no exit after Ctrl-C; the threads were at:\n{err[-6000:]}")
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 130
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on this machine (Debian: apt-get install chromium)")
def test_status_html_is_one_self_contained_page_a_browser_shows(
    server: str, rules: Path, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    assert CHROMIUM is not None
    page = tmp_path / "status.html"
    done = cli("status", "--config", str(rules), "--endpoint-url", server, "--html", str(page), "--json")
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=|@import|url\(""", text)  # nothing fetched from anywhere
    profile = tmp_path / "browser-profile"  # a fresh profile; the network is closed anyway
    flags = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<li id="count-services"><b>3</b>services</li>' in dom.stdout
    services = json.loads(done.stdout)["services"]  # the page shows what --json says
    drifting = sum(1 for s in services if s["drift"] == "yes")
    assert f'<li id="count-drifting"><b>{drifting}</b>drifting</li>' in dom.stdout
    for service in services:
        assert service["service"].rsplit("/", 1)[-1] in dom.stdout
        assert '<span class="state' in dom.stdout
    shot = tmp_path / "status.png"
    taken = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,700", "--hide-scrollbars", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000  # a rendered table, not a blank page
    record_property("screenshot", str(shot))  # in the JUnit report
    print(f"screenshot of the status page: {shot}")
