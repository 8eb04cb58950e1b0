"""The embedded AWS emulator: moto's server on 127.0.0.1, a free port, in this process.

The server runs in a thread of this process, so the glue next to it (replication, event delivery, ECS rollouts)
can read and advance moto's backend state directly, while every client of the demo — and the deploy path under
test — talks to it over HTTP through ``endpoint_url`` like it would talk to AWS.

AWS applies each request atomically; moto's backends do not guard their state against threads (a TransactWriteItems
deep-copies a table while another request's PutItem changes it), and its server answers every connection in a
thread of its own. The emulator therefore answers one request at a time (connections are still accepted at once).
While one runs, moto is patched where it departs from AWS in ways the engine would see: a tag moved to a new image
leaves the old image untagged, as ECR does (local/ecr_tags.py), and a TransactWriteItems backs up only the items it
writes, not whole tables (local/dynamodb_transactions.py: time proportional to the table made large ledgers slow).
https://docs.getmoto.org/en/latest/docs/server_mode.html
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.local import dynamodb_transactions, ecr_tags

ACCOUNT = "123456789012"  # moto's default account: every resource of the emulator lives here
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Settings that could point a client of this process at a real account; the emulator replaces or removes them.
_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
_PATCHES = (ecr_tags.patch, dynamodb_transactions.patch)
_patched_lock = threading.Lock()
_patched: list[Callable[[], None]] = []  # the undos of the patches, while any emulator of this process runs
_running = 0


class Emulator:
    """moto's ThreadedMotoServer bound to 127.0.0.1 on a free port; start() before making clients, stop() always."""

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint_url = ""

    def start(self) -> Emulator:
        """Start the server and return self; the endpoint is known only after this."""
        from moto.moto_api._internal.models import moto_api_backend
        from moto.server import ThreadedMotoServer

        # Werkzeug logs every request at INFO; keep its errors (a failing emulator call must stay visible).
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # moto's state is the process's: an emulator starts empty, whatever ran in this process before it.
        moto_api_backend.reset()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        # Nothing knows the port yet, so no request can arrive before the application is wrapped.
        wsgi: Any = server._server
        wsgi.app = OneAtATime(wsgi.app)
        _patch_moto(+1)
        self._server = server
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            _patch_moto(-1)

    @property
    def running(self) -> bool:
        """Return True between start() and stop()."""
        return self._server is not None

    def clients(self, region: str) -> Clients:
        """Return a client factory for `region` that sends every call to the emulator."""
        if not self.running:
            raise RuntimeError("the emulator is not running: start() it before making clients")
        return Clients(region=region, endpoint_url=self.endpoint_url)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _patch_moto(change: int) -> None:
    """Count a started (+1) or stopped (-1) emulator: the first patches moto, the last gives it back."""
    global _running
    with _patched_lock:
        _running += change
        if _running == 1 and change > 0:
            _patched.extend(patch() for patch in _PATCHES)
        elif _running == 0:
            while _patched:
                _patched.pop()()


class OneAtATime:
    """A WSGI application that answers one request at a time (the body is produced inside the turn)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._turn = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._turn:
            return list(self._app(environ, start_response))


def backend(service: str, region: str, account: str = ACCOUNT) -> Any:
    """Return moto's in-process backend of `service` in `region` (the state the emulator serves)."""
    from moto.backends import get_backend

    return get_backend(service)[account][region]  # type: ignore[call-overload]


@contextmanager
def isolated_environment(endpoint_url: str, region: str) -> Iterator[None]:
    """Point every AWS client made in this process at the emulator with fake credentials; restore on exit.

    A laptop with no AWS account has no credentials, and one with an account must not have its profile or
    session used: nothing but the emulator may be contacted.
    """
    settings = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with patched_environ(settings, remove=_CLEARED):
        yield


@contextmanager
def patched_environ(settings: Mapping[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """Set and remove environment variables for the duration of the block, then restore them exactly."""
    saved = {name: os.environ.get(name) for name in (*settings, *remove)}
    try:
        for name in remove:
            os.environ.pop(name, None)
        os.environ.update(settings)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
