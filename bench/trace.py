"""How deep one replication event goes: project calls, the deepest project call stack, and the project types used.

Runs the Lambda handler (as installed: rules from AUTODEPLOY_CONFIG, with the ledger) on one replication event
for one pinned service, in-process on moto, with a profiler that counts only calls into ``ecr_autodeploy``
functions. "Types" are the project classes whose methods (``__init__`` included) ran. Wiring is done once before
measuring, as a warm Lambda container would have done it.

    python -m bench.trace            # prints calls, depth and types as JSON
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from moto import mock_aws

import ecr_autodeploy

PACKAGE_DIR = str(Path(ecr_autodeploy.__file__).resolve().parent)
REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "trace-ledger"


def _world() -> dict[str, Any]:
    """Create one repository, one cluster and one pinned service; return the replication event of a new image."""
    from ecr_autodeploy.core.events import registry_host
    from ecr_autodeploy.local import events
    from ecr_autodeploy.local.images import manifest

    ecr = boto3.client("ecr", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ecr.create_repository(repositoryName="shop/api")
    old = ecr.put_image(repositoryName="shop/api", imageManifest=manifest("old"), imageTag="1.0.0")
    ecs.create_cluster(clusterName="shop")
    host = registry_host(ACCOUNT, REGION)
    old_digest = old["image"]["imageId"]["imageDigest"]
    ecs.register_task_definition(
        family="shop-api",
        containerDefinitions=[{"name": "api", "image": f"{host}/shop/api@{old_digest}", "memory": 128}],
    )
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition="shop-api", desiredCount=1)
    new = ecr.put_image(repositoryName="shop/api", imageManifest=manifest("new"), imageTag="1.1.0")
    return events.replicate("shop/api", new["image"]["imageId"]["imageDigest"], "1.1.0", REGION)


def _owner(frame: FrameType) -> str | None:
    """Return the project class a frame's function belongs to (its first argument's type), if any."""
    code = frame.f_code
    if not code.co_varnames or code.co_argcount == 0:
        return None
    first = frame.f_locals.get(code.co_varnames[0])
    kind = first if isinstance(first, type) else type(first)
    module = getattr(kind, "__module__", "") or ""
    return f"{module}.{kind.__qualname__}" if module.startswith("ecr_autodeploy") else None


def measure() -> dict[str, Any]:
    """Return the project calls, the deepest project stack and the project types of one replication event."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AUTODEPLOY_LEDGER_TABLE": TABLE,
            "AUTODEPLOY_CONFIG": json.dumps(
                {"rules": [{"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}]}
            ),
        }
    )
    with mock_aws():
        event = _world()
        from ecr_autodeploy import handler

        handler.warm()
        calls: Counter[str] = Counter()
        types: set[str] = set()
        depth = {"now": 0, "max": 0}
        base = len(_project_stack(sys._getframe()))

        def profile(frame: FrameType, what: str, arg: object) -> None:
            if what != "call" or not frame.f_code.co_filename.startswith(PACKAGE_DIR):
                return
            name = frame.f_code.co_qualname
            last = name.rsplit(".", 1)[-1]
            if last.startswith("<") and last != "<lambda>":
                return  # comprehensions and generator expressions are not calls a reader follows
            calls[f"{frame.f_globals.get('__name__')}.{name}"] += 1
            owner = _owner(frame)
            if owner is not None:
                types.add(owner)
            depth["max"] = max(depth["max"], len(_project_stack(frame)) - base)

        sys.setprofile(profile)
        threading.setprofile(profile)
        try:
            result = handler.handler(event, None)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    statuses = [o["status"] for o in result["outcomes"]]
    return {
        "outcomes": statuses,
        "project_calls": sum(calls.values()),
        "distinct_functions": len(calls),
        "max_project_depth": depth["max"],
        "types": len(types),
        "type_names": sorted(types),
        "most_called": dict(calls.most_common(12)),  # where the calls go, for whoever cuts them next
    }


def _project_stack(frame: FrameType | None) -> list[str]:
    found = []
    while frame is not None:
        last = frame.f_code.co_qualname.rsplit(".", 1)[-1]
        comprehension = last.startswith("<") and last != "<lambda>"
        if frame.f_code.co_filename.startswith(PACKAGE_DIR) and not comprehension:
            found.append(frame.f_code.co_qualname)
        frame = frame.f_back
    return found


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
