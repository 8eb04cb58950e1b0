"""Cold init: a fresh interpreter importing the handler and wiring it (rules, ledger, clients) ÷ a fresh interpreter
importing boto3 and creating the same clients.

The handler creates its clients during init when Lambda runs it for SnapStart (AWS_LAMBDA_INITIALIZATION_TYPE=
snap-start), which is how the subject is run, so the clients are made exactly the way its wiring makes them.
Each sample is its own process; the time is taken inside it, from the first statement to wired clients, so the
interpreter's own start-up (the same on both sides) does not dilute the ratio. Whole-process wall times are kept
in the details.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.fleet import REGION, rules
from bench.measure import Figure, Samples, interleave, without_paths

TARGET = 1.05
INIT = "snap-start"

SUBJECT = """
import time
start = time.perf_counter()
import ecr_autodeploy.handler as handler
handler.warm()
print(time.perf_counter() - start)
"""

BASELINE = """
import time
start = time.perf_counter()
import boto3
from botocore.config import Config
config = Config(retries={{"mode": "standard", "max_attempts": 5}}, connect_timeout=5, read_timeout=20,
                max_pool_connections=32)
session = boto3.session.Session()
for service in {services!r}:
    session.client(service, config=config)
print(time.perf_counter() - start)
"""


def snapshot_clients() -> tuple[str, ...]:
    """Return the clients the handler creates during a SnapStart init."""
    from ecr_autodeploy import handler

    services: tuple[str, ...] = getattr(handler, "_SNAPSHOT_CLIENTS", ("ecs", "ecr"))
    return services


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTODEPLOY_", "PYTHON"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_LAMBDA_INITIALIZATION_TYPE=INIT,
        AUTODEPLOY_CONFIG=json.dumps(rules("shop/api", "shop", ["api"])),
        AUTODEPLOY_LEDGER_TABLE="ecr-autodeploy-ledger",
    )
    return env


def _process(code: str, walls: list[float]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], env=_environment(), capture_output=True, text=True, check=False
    )
    walls.append(time.perf_counter() - start)
    if done.returncode != 0:
        raise RuntimeError(f"cold init sample failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the cold-init figure."""
    services = snapshot_clients()
    baseline_code = BASELINE.format(services=services)
    walls: dict[str, list[float]] = {"subject": [], "baseline": []}
    samples: Samples = interleave(
        lambda: _process(SUBJECT, walls["subject"]), lambda: _process(baseline_code, walls["baseline"]), reps
    )
    figure = samples.figure(
        "cold_init",
        "Cold init: import handler + wire + clients",
        TARGET,
        baseline_label=f"import boto3 + {', '.join(services)} clients",
        details={
            "clients": list(services),
            "wall_ms_subject": round(_median(walls["subject"]) * 1000, 1),
            "wall_ms_baseline": round(_median(walls["baseline"]) * 1000, 1),
        },
    )
    if not figure.met and profile_dir is not None:
        path = profile_dir / "cold_init.profile.txt"
        path.write_text(_profile(), encoding="utf-8")
        figure.details["profile"] = path.name
        figure.details["imports_ms"] = _own_imports()
    return [figure]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _profile() -> str:
    """Return a pyinstrument profile of one subject process (profiled inside the child)."""
    code = (
        "from pyinstrument import Profiler\n"
        "p = Profiler(interval=0.0002)\n"
        "p.start()\n"
        "import ecr_autodeploy.handler as handler\n"
        "handler.warm()\n"
        "p.stop()\n"
        "print(p.output_text(unicode=False, color=False))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], env=_environment(), capture_output=True, text=True, check=True
    )
    return "# cold_init: one fresh process, import + warm()\n" + without_paths(done.stdout)


def _own_imports() -> dict[str, float]:
    """Return the project's modules by self import time (ms, from -X importtime), slowest first."""
    env = _environment()
    del env["AWS_LAMBDA_INITIALIZATION_TYPE"]  # imports only: no clients inside the handler's import
    done = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-c", "import ecr_autodeploy.handler as h; h.warm()"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    own: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2].startswith("ecr_autodeploy") and parts[0].isdigit():
            own[parts[2]] = int(parts[0]) / 1000
    return dict(sorted(own.items(), key=lambda kv: -kv[1])[:15])
