"""The handler holds the cycle collector while a Lambda init runs and freezes what the init made; nowhere else.

Each case is a fresh interpreter: the collector is process-wide state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import gc, json, sys
import ecr_autodeploy.handler as handler
seen = {"after_import": gc.isenabled()}
try:
    handler.handler({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "id": "1",
                     "detail": {}}, None)
    seen["handled"] = True
except Exception as err:
    seen["handled"] = type(err).__name__
seen["after_event"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count()
print(json.dumps(seen))
"""
RULES = {"rules": [{"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}]}


def _probe(init_type: str | None, rules: object = RULES) -> dict[str, object]:
    env = {**os.environ, "AUTODEPLOY_CONFIG": json.dumps(rules), "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    if init_type is not None:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = init_type
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    seen: dict[str, object] = json.loads(done.stdout)
    return seen


def test_an_on_demand_init_holds_the_collector_until_wired_then_freezes_the_start() -> None:
    seen = _probe("on-demand")
    assert seen["after_import"] is False
    assert seen["handled"] is True
    assert seen["after_event"] is True
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 10_000  # boto3's modules and the wired function


def test_a_snapstart_init_releases_the_collector_during_the_import() -> None:
    seen = _probe("snap-start")
    assert seen["after_import"] is True  # wired (and the clients made) during the import, then released
    assert seen["after_event"] is True
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 10_000


def test_outside_a_lambda_init_the_collector_is_left_alone() -> None:
    seen = _probe(None)
    assert seen == {"after_import": True, "handled": True, "after_event": True, "frozen": 0}


def test_a_failed_init_still_gives_the_collector_back() -> None:
    seen = _probe("on-demand", {"rules": [{"repository": "shop/api", "bogus": 1}]})
    assert seen["handled"] == "ConfigError"
    assert seen["after_event"] is True
