"""Cold start: a fresh function process handed an event it ignores ÷ a fresh process with bare boto3 and the same
clients.

The subject is the function as install ships it: the Lambda zip (the package's modules and the rules file
install puts in it, examples/rules.yaml here) unpacked into a task root, the environment install sets
(AUTODEPLOY_CONFIG naming the packaged rules file, the ledger table, the function timeout), and the handler run
the way Lambda runs it: ``import ecr_autodeploy.handler`` from the task root, then ``handler(event, None)`` with
an event it ignores, so no AWS call is made. It runs as a SnapStart init (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start),
where the handler wires itself and creates its clients during the import, so that both sides create the same
clients; the baseline imports boto3, creates those clients with the same configuration and reads the event.

Each sample is its own process; the time is taken inside it, from the first statement to the event handled, so the
interpreter's own start-up (the same on both sides) does not dilute the ratio. The task root is compiled once
before sampling, as the runtime's boto3 is; the zip as shipped holds no bytecode, and Lambda cannot write any into
its read-only task root, so a third figure takes the same subject with bytecode off. The details name the
project's modules a sample imports, with their import times (``-X importtime``), and the CPU times of the same
samples (on a shared machine the wall clock of a 0.4 s process swings with the neighbours' load; the CPU time
much less, and this start is single-threaded and CPU-bound, so on Lambda the two agree).

The handler holds the cycle collector during a Lambda init and freezes what the init made (handler.py): that is
part of the function, so the first figure compares it with boto3 as anyone starts it. The second figure gives the
baseline the same collector handling, and so measures only what the package's imports, rules and wiring add.
"""

from __future__ import annotations

import compileall
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from io import BytesIO
from pathlib import Path

from bench.app import function_environment
from bench.fleet import ACCOUNT, REGION
from bench.measure import Figure, Samples, interleave, without_paths

TARGET = 1.05
INIT = "snap-start"
EXAMPLE_RULES = Path(__file__).resolve().parent.parent / "examples" / "rules.yaml"
IGNORED = {
    "version": "0",
    "id": "cold-1",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": ACCOUNT,
    "region": REGION,
    "resources": [],
    "detail": {},
}

SUBJECT = """
import sys
sys.path.insert(0, {root!r})
import time
start, cpu = time.perf_counter(), time.process_time()
import json, os
import ecr_autodeploy.handler as handler
result = handler.handler(json.loads(os.environ["BENCH_EVENT"]), None)
took, cpu = time.perf_counter() - start, time.process_time() - cpu
assert handler.__file__.startswith({root!r}), handler.__file__
assert result["outcomes"][0]["status"] == "ignored", result
own = sorted(m for m in sys.modules if m.startswith("ecr_autodeploy"))
print(json.dumps({{"seconds": took, "cpu": cpu, "modules": own}}))
"""

BASELINE = """
import time
start, cpu = time.perf_counter(), time.process_time()
import gc, json, os
if {hold!r}:
    gc.disable()
import boto3
from botocore.config import Config
config = Config(retries={{"mode": "standard", "total_max_attempts": 3}}, connect_timeout=2, read_timeout=8,
                max_pool_connections=32)
session = boto3.session.Session()
for service in {services!r}:
    session.client(service, config=config)
if {hold!r}:
    gc.freeze()
    gc.enable()
json.loads(os.environ["BENCH_EVENT"])
took, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({{"seconds": took, "cpu": cpu, "modules": []}}))
"""


def snapshot_clients() -> tuple[str, ...]:
    """Return the clients the handler creates during a SnapStart init."""
    from ecr_autodeploy import handler

    services: tuple[str, ...] = getattr(handler, "_SNAPSHOT_CLIENTS", ("ecs", "ecr"))
    return services


def task_root(directory: Path) -> dict[str, str]:
    """Unpack the Lambda zip with the example rules into `directory`; return the environment install sets."""
    from ecr_autodeploy.aws.lambda_package import build_package, with_rules
    from ecr_autodeploy.core.installation import RULES_FILE, environment, rules_json
    from ecr_autodeploy.core.stack import Site, Stack
    from ecr_autodeploy.wiring import load_config

    config = load_config(str(EXAMPLE_RULES))
    data = with_rules(build_package().data, rules_json(config), RULES_FILE)
    with zipfile.ZipFile(BytesIO(data)) as archive:
        archive.extractall(directory)
    return environment(config, Stack("ecr-autodeploy", Site.of(REGION, ACCOUNT)), rules_in_package=True)


def _environment(variables: dict[str, str], root: Path) -> dict[str, str]:
    """Return the function's environment as installed, in a task root, starting as SnapStart starts it."""
    return function_environment(
        AWS_LAMBDA_INITIALIZATION_TYPE=INIT, LAMBDA_TASK_ROOT=str(root), BENCH_EVENT=json.dumps(IGNORED), **variables
    )


class _Runner:
    """Fresh processes of one code, their in-process times and whole-process walls."""

    def __init__(self, code: str, env: dict[str, str], *flags: str) -> None:
        self.command = [sys.executable, "-I", *flags, "-c", code]
        self.env = env
        self.walls: list[float] = []
        self.cpu: list[float] = []  # the CPU seconds each sample's process spent in the timed part
        self.modules: list[str] = []

    def __call__(self) -> float:
        start = time.perf_counter()
        done = subprocess.run(self.command, env=self.env, capture_output=True, text=True, check=False)
        self.walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"cold start sample failed:\n{done.stderr[-3000:]}")
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        self.modules = answer["modules"]
        self.cpu.append(float(answer["cpu"]))
        return float(answer["seconds"])


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the cold-start figures: bytecode compiled once (as the runtime's boto3 is), and none (as shipped)."""
    services = snapshot_clients()
    with tempfile.TemporaryDirectory(prefix="bench-task-root-") as name:
        root = Path(name)
        env = _environment(task_root(root), root)
        compileall.compile_dir(root, quiet=1)
        subject = _Runner(SUBJECT.format(root=str(root)), env)
        baseline = _Runner(BASELINE.format(services=services, hold=False), env)
        samples, cpu = _interleaved(subject, baseline, reps)
        # The same boto3 start with the collector held as the handler holds it: what the project itself adds.
        held = _Runner(BASELINE.format(services=services, hold=True), env)
        own, own_cpu = _interleaved(subject, held, reps)
        shipped = _Runner(SUBJECT.format(root=str(root)), env, "-B")
        _drop_bytecode(root)
        as_shipped = interleave(shipped, baseline, max(5, reps // 2))
        imports = _own_imports(subject.command, env)
        profile = _profile(root, env) if profile_dir is not None else None
    label = f"import boto3 + {', '.join(services)} clients"
    details = {
        "clients": list(services),
        "baseline_ms_iqr": _iqr(samples.baseline),
        "wall_ms_subject": round(_median(subject.walls) * 1000, 1),
        "wall_ms_baseline": round(_median(baseline.walls) * 1000, 1),
        **_cpu(cpu),
        "modules": subject.modules,
        "imports_ms": imports,
    }
    figures = [
        samples.figure(
            "cold_init",
            "Cold start: ignored event, wired as installed (SnapStart init)",
            TARGET,
            baseline_label=label,
            details=details,
        ),
        own.figure(
            "cold_init_own",
            "Cold start, the project's own part: the same ÷ boto3 with the collector held alike",
            TARGET,
            baseline_label=f"{label}, collector off until made, then frozen",
            notes="what the package's imports, rules and wiring add once the collector is out of the picture",
            details=_cpu(own_cpu),
        ),
        as_shipped.figure(
            "cold_init_no_bytecode",
            "Cold start as shipped: the same, no bytecode in the task root",
            TARGET,
            baseline_label=label,
            notes="the zip holds .py files only and the task root is read-only: each module compiles per cold start",
            details={"modules": len(shipped.modules)},
        ),
    ]
    if profile is not None and profile_dir is not None and not figures[0].met:
        path = profile_dir / "cold_init.profile.txt"
        path.write_text(profile, encoding="utf-8")
        figures[0].details["profile"] = path.name
    return figures


def _interleaved(subject: _Runner, baseline: _Runner, reps: int) -> tuple[Samples, Samples]:
    """Return the wall-time samples of `reps` interleaved runs, and their CPU times (the warm-up left out)."""
    subject.cpu.clear()
    baseline.cpu.clear()
    walls = interleave(subject, baseline, reps)
    return walls, Samples(tuple(subject.cpu[1:]), tuple(baseline.cpu[1:]))


def _cpu(samples: Samples) -> dict[str, float]:
    """Return the CPU-time medians and ratio: the neighbours' load on a shared machine does not count there."""
    return {
        "cpu_ms_subject": round(samples.subject_median * 1000, 1),
        "cpu_ms_baseline": round(samples.baseline_median * 1000, 1),
        "cpu_ratio": round(samples.subject_median / samples.baseline_median, 4),
    }


def _drop_bytecode(root: Path) -> None:
    for cached in root.rglob("__pycache__"):
        for file in cached.iterdir():
            file.unlink()
        cached.rmdir()


def _iqr(values: tuple[float, ...]) -> list[float]:
    q = Samples(values, values).spread(1000)
    return [round(q[0], 1), round(q[1], 1)]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _profile(root: Path, env: dict[str, str]) -> str:
    """Return a pyinstrument profile of one subject process (profiled inside the child)."""
    code = (
        f"import sys; sys.path.insert(0, {str(root)!r})\n"
        "import json, os\n"
        "from pyinstrument import Profiler\n"
        "p = Profiler(interval=0.0002)\n"
        "p.start()\n"
        "import ecr_autodeploy.handler as handler\n"
        "handler.handler(json.loads(os.environ['BENCH_EVENT']), None)\n"
        "p.stop()\n"
        "print(p.output_text(unicode=False, color=False))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
    return "# cold_init: one fresh process, import + ignored event\n" + without_paths(done.stdout).replace(
        str(root), "TASK_ROOT"
    )


def _own_imports(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Return the project's modules by self import time (ms, from -X importtime), slowest first."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], env=env, capture_output=True, text=True, check=True
    )
    own: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2].startswith("ecr_autodeploy") and parts[0].isdigit():
            own[parts[2]] = int(parts[0]) / 1000
    return dict(sorted(own.items(), key=lambda kv: -kv[1]))
