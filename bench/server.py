"""An emulator for the benchmarks: moto's ThreadedMotoServer on 127.0.0.1, in a child process.

In its own process the server's work does not compete with the code being measured for the interpreter lock,
so a timing shows the client side; both subject and baseline talk to the same server. ``python -m bench.server``
is the child: it prints its port and serves until its stdin closes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def moto_server() -> Iterator[str]:
    """Start a fresh emulator; yield its endpoint URL; stop it afterwards."""
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
        yield f"http://127.0.0.1:{port}"
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _serve() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from bench import moto_speed
    from ecr_autodeploy.local.emulator import answer_one_at_a_time

    moto_speed.install()  # TransactWriteItems at DynamoDB's cost, not O(table) (bench/moto_speed.py)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would drown the table

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    answer_one_at_a_time(server)  # as AWS, each request applied whole (moto's backends are not thread-safe)
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _serve()
