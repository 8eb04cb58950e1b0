"""An emulator for the benchmarks: the project's emulator glue on 127.0.0.1, in a child process.

In its own process the server's work does not compete with the code being measured for the interpreter lock,
so a timing shows the client side; both subject and baseline talk to the same server. The child runs the same
glue as the demo (local/emulator.py: one request answered at a time, as AWS applies each atomically;
local/ecs_rollout.py: each UpdateService that starts a deployment starts a new PRIMARY deployment with a new id,
the previous one ACTIVE, as ECS does), but no ticker: deployments stay IN_PROGRESS, as no task ever starts, and
pile up. ``settle()`` (setup, between samples) completes them as a rollout would, so every sample deploys to a
service with one deployment. ``python -m bench.server`` is the child: it prints its port, settles when a line
says so, and serves until its stdin closes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@dataclass(frozen=True)
class Server:
    """A running emulator: its endpoint, and the pipe to the child that serves it."""

    endpoint: str
    pid: int
    _stdin: IO[str]
    _stdout: IO[str]

    def settle(self) -> None:
        """Complete every deployment in progress (what ECS does once the tasks run); return when done."""
        self._stdin.write("settle\n")
        self._stdin.flush()
        self._stdout.readline()


@contextmanager
def moto_server() -> Iterator[Server]:
    """Start a fresh emulator; yield it; stop it afterwards."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.server"],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        port = int(child.stdout.readline())
        yield Server(f"http://127.0.0.1:{port}", child.pid, child.stdin, child.stdout)
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _serve() -> None:
    from ecr_autodeploy.local.ecs_rollout import EcsRollouts
    from ecr_autodeploy.local.emulator import Emulator

    with Emulator() as emulator:
        rollouts = EcsRollouts(emulator.clients(REGION), [REGION]).hook()
        print(emulator.endpoint_url.rsplit(":", 1)[1], flush=True)
        for line in sys.stdin:
            if line.strip() == "settle":
                rollouts.settle()
                print("settled", flush=True)
        rollouts.unhook()


if __name__ == "__main__":
    _serve()
