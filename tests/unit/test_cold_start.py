"""The Lambda entry imports only what the event kind needs: the modules a fresh process loads, event by event.

Every module on the cold path costs start-up time (its classes and patterns are built at import), so the sets are
spelled out: a module that joins one is a decision, made here. `python -m bench cold_init` measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# A fresh interpreter wires the handler from its environment (as install sets it) and reports what it loaded.
PROBE = """
import json, sys
import ecr_autodeploy.handler as handler
step = sys.argv[1]
if step == "ignored":
    handler.handler({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "id": "1",
                     "detail": {}}, None)
elif step == "deployer":
    handler.warm().deployer
print(json.dumps(sorted(m for m in sys.modules if m.startswith("ecr_autodeploy"))))
"""
RULES = {
    "rules": [{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}],
    "notify": {"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:deploys"},
}
WIRED = {
    "ecr_autodeploy",
    "ecr_autodeploy.aws",
    "ecr_autodeploy.aws.clients",
    "ecr_autodeploy.core",
    "ecr_autodeploy.core.config",
    "ecr_autodeploy.core.documents",
    "ecr_autodeploy.core.errors",
    "ecr_autodeploy.core.events",
    "ecr_autodeploy.core.fanout",  # the fan-out batch size is one of the function's settings (wiring)
    "ecr_autodeploy.core.fields",
    "ecr_autodeploy.core.gate_rules",  # the rules' gate fields are parsed with the rules (patterns lazy)
    "ecr_autodeploy.core.lazy_re",
    "ecr_autodeploy.core.ledger_items",
    "ecr_autodeploy.core.notify",
    "ecr_autodeploy.core.ordering",
    "ecr_autodeploy.core.outcomes",
    "ecr_autodeploy.core.regex_safety",
    "ecr_autodeploy.core.routes",
    "ecr_autodeploy.core.rules",
    "ecr_autodeploy.core.strategies",
    "ecr_autodeploy.core.tags",
    "ecr_autodeploy.core.timefmt",
    "ecr_autodeploy.core.values",  # @frozen: the value classes, cheap to define (an __init__ compiled on first use)
    "ecr_autodeploy.engine",
    "ecr_autodeploy.engine.concurrency",
    "ecr_autodeploy.engine.dispatch",
    "ecr_autodeploy.engine.report",
    "ecr_autodeploy.handler",
    "ecr_autodeploy.wiring",
}
# Never on the Lambda path: the doors a person uses, the emulator, installing, templates and policies.
NOT_LAMBDA = ("ecr_autodeploy.cli", "ecr_autodeploy.local", "ecr_autodeploy.aws.installer", "ecr_autodeploy.core.iam")
LATER = (  # the use cases of the other event kinds, and the notifier (made for the first message sent)
    "ecr_autodeploy.engine.track",
    "ecr_autodeploy.engine.rollback",
    "ecr_autodeploy.engine.reconcile",
    "ecr_autodeploy.engine.survey",
    "ecr_autodeploy.core.ecs_events",
    "ecr_autodeploy.core.rollout",
    "ecr_autodeploy.aws.notifier",
)


def _loaded(step: str) -> set[str]:
    env = {
        **os.environ,
        "AUTODEPLOY_CONFIG": json.dumps(RULES),
        "AUTODEPLOY_LEDGER_TABLE": "ecr-autodeploy-ledger",
        "AUTODEPLOY_FUNCTION_TIMEOUT": "120",
    }
    env.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    done = subprocess.run([sys.executable, "-c", PROBE, step], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_an_ignored_event_loads_the_wiring_the_rules_and_the_router_only() -> None:
    assert _loaded("ignored") == WIRED


def test_importing_the_handler_loads_almost_nothing() -> None:
    assert _loaded("import") == {
        "ecr_autodeploy",
        "ecr_autodeploy.core",
        "ecr_autodeploy.core.errors",
        "ecr_autodeploy.handler",
    }


def test_an_image_event_adds_the_deploy_path_and_nothing_of_the_other_kinds() -> None:
    loaded = _loaded("deployer")
    assert loaded > WIRED
    assert {"ecr_autodeploy.engine.deploy", "ecr_autodeploy.engine.executor", "ecr_autodeploy.aws.ledger"} <= loaded
    assert not [m for m in loaded if m.startswith((*NOT_LAMBDA, *LATER))]
