"""`ecr-autodeploy demo` as a user runs it: a subprocess, the summary on stdout, progress on stderr."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from typing import Any

import boto3
import pytest

from ecr_autodeploy.local.images import manifest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
COMMAND = [sys.executable, "-m", "ecr_autodeploy", "demo"]


def test_demo_json_prints_only_the_summary_and_exits_0_when_every_scenario_behaved() -> None:
    done = subprocess.run([*COMMAND, "--json"], capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert summary["ok"] is True
    assert summary["problems"] == []
    assert summary["install"]["function"] == "ecr-autodeploy"
    assert "ecr-autodeploy" in summary["install"]["rules"]
    assert summary["emulator"]["endpoint"].startswith("http://127.0.0.1:")
    good, broken, noop, canary, alarm, promotion = summary["scenarios"]
    assert [s["ok"] for s in summary["scenarios"]] == [True] * 6
    assert all(c["ok"] for s in summary["scenarios"] for c in s["checks"])

    rows = {r["service"]: r for r in good["services"]}
    assert set(rows) == {"api", "worker", "web"}
    assert rows["api"]["digest"] == rows["worker"]["digest"]  # one image, two services
    assert rows["api"]["digest"] != rows["web"]["digest"]
    for row in rows.values():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", row["digest"])
        assert row["after"] == row["before"].split(":")[0] + "@" + row["digest"][:19]
        assert row["rollout"] == "COMPLETED"
        assert row["outcome"] == "deployed -> completed"

    for row in broken["services"]:
        assert row["rollout"] == "FAILED (rolled back)"
        assert row["outcome"] == "deployed -> rollout_failed"
        assert row["after"] == row["before"]  # rolled back to what ran before
        assert row["digest"] != rows["api"]["digest"]

    for row in noop["services"]:
        assert row["outcome"] == "unchanged, unchanged, skipped"
        assert row["after"] == row["before"]

    (row,) = canary["services"]
    assert (row["service"], row["rollout"], row["outcome"]) == ("checkout", "COMPLETED", "deployed -> completed")
    # The stages that bake last long enough for every watcher poll to see them; the others may pass between polls.
    assert {"PRODUCTION_TRAFFIC_SHIFT 10%", "BAKE_TIME"} <= set(row["stages"])
    assert row["stages"].index("PRODUCTION_TRAFFIC_SHIFT 10%") < row["stages"].index("BAKE_TIME")

    (row,) = alarm["services"]
    assert (row["rollout"], row["outcome"]) == ("FAILED (rolled back)", "deployed -> rollout_failed")
    assert "checkout-5xx" in row["reason"]
    assert "ROLLBACK_SUCCESSFUL" in row["reason"]
    assert row["after"] == row["before"]  # ECS put the previous revision back
    assert "BAKE_TIME" not in row["stages"]  # caught during the canary, before the rest of the traffic moved

    staging, production = promotion["services"]
    assert (staging["service"], staging["outcome"], staging["rollout"]) == (
        "staging/orders",
        "deployed -> completed",
        "COMPLETED",
    )
    assert (production["service"], production["rollout"]) == ("orders", "COMPLETED")
    assert production["outcome"] == "deferred, pending_approval, approved -> completed"
    assert staging["digest"] == production["digest"]  # the one image, promoted
    assert production["after"] == production["before"].split(":")[0] + "@" + production["digest"][:19]

    progress = done.stderr
    assert re.search(r"rollout  checkout: IN_PROGRESS .*BAKE_TIME \d+/10 min", progress)
    command = re.search(
        r"notify   SNS .*: run (ecr-autodeploy approve ([0-9a-f]{12}) --region us-east-1 \S+ \S+)", progress
    )
    assert command, progress[-3000:]
    assert f"approve  {command.group(1)}" in progress  # the demo ran the very command the message gave
    assert re.search(rf"approve  exit 0: approved {command.group(2)} \(shop/orders:1\.1\.0@sha256:", progress)
    steps = ("emulator", "world", "install", *(f"scenario {n}" for n in range(1, 7)))
    for step in (*steps, "rollout"):
        assert re.search(rf"^\[\s*\d+\.\ds\] +{step}", progress, re.MULTILINE), step


def test_demo_keep_running_leaves_the_emulator_up_until_ctrl_c() -> None:
    wide = {**os.environ, "COLUMNS": "200"}  # the summary tables in full
    demo = subprocess.Popen(
        [*COMMAND, "--keep-running"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=wide
    )
    try:
        assert demo.stderr is not None
        lines = []
        for line in demo.stderr:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(lines)
        found = re.search(r"keeps running on (http://127\.0\.0\.1:\d+)", text)
        assert found, text[-3000:]
        assert "aws --endpoint-url" in text
        assert re.search(r"ecr-autodeploy --endpoint-url \S+ --region us-east-1 replay \S+event\.json", text)
        assert "lambda invoke --" not in text
        ecs = boto3.client("ecs", endpoint_url=found.group(1), region_name="us-east-1")
        (api,) = ecs.describe_services(cluster="shop", services=["api"])["services"]
        td = ecs.describe_task_definition(taskDefinition=api["taskDefinition"])["taskDefinition"]
        app = next(c for c in td["containerDefinitions"] if c["name"] == "app")
        assert "/shop/api@sha256:" in app["image"]

        # A person pushes an image with the AWS CLI: the demo keeps printing what the function does with it.
        ecr = boto3.client("ecr", endpoint_url=found.group(1), region_name="us-west-2")
        ecr.put_image(repositoryName="shop/api", imageTag="1.7.0", imageManifest=manifest("pushed by a person"))
        followed = ""
        for line in demo.stderr:
            followed += line
            if "function invoked on ECR Replication Action shop/api:1.7.0" in line:
                break
        assert "deployed api, deployed worker" in followed, followed[-2000:]

        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0
    assert "every scenario behaved as expected" in out
    assert "SERVICE  IMAGE BEFORE -> AFTER" in out
