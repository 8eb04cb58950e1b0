"""The gate verbs as a person runs them: pause, resume, approvals, reject and approve, against an emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ecr_autodeploy.core.installation import ledger_key_schema
from ecr_autodeploy.local.emulator import FAKE_CREDENTIALS, Emulator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REGION = "us-east-1"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        attributes, key_schema = ledger_key_schema()
        emulator.clients(REGION).client("dynamodb").create_table(
            TableName="ecr-autodeploy-ledger",
            AttributeDefinitions=attributes,
            KeySchema=key_schema,
            BillingMode="PAY_PER_REQUEST",
        )
        yield emulator


def run(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {**FAKE_CREDENTIALS, "AWS_REGION": REGION, "COLUMNS": "200"}
    command = [sys.executable, "-m", "ecr_autodeploy", "--endpoint-url", emulator.endpoint_url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_pause_resume_and_the_approval_verbs_exit_as_documented(emulator: Emulator) -> None:
    paused = run(emulator, "pause", "--all", "--reason", "change freeze", "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["paused"]["reason"] == "change freeze"
    usage = run(emulator, "pause")
    assert usage.returncode == 2
    assert "give exactly one of --rule N, --service CLUSTER/SERVICE or --all" in usage.stderr

    resumed = run(emulator, "resume", "--all")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "resumed every deploy (paused: change freeze)"
    assert "the scheduled reconcile deploys the newest allowed image" in resumed.stderr

    listed = run(emulator, "approvals", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"schema_version": 1, "approvals": []}
    for verb in ("approve", "reject"):
        refused = run(emulator, verb, "0123456789ab")
        assert refused.returncode == 1
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("Error: no approval 0123456789ab in the ledger")
