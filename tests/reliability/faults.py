"""Transient AWS faults injected with botocore event hooks, deterministic per seed, in front of moto.

Every client the code under test gets from `FaultyClients` has moto's request handler taken out of its
``before-send`` chain and called from `Injector` instead, so a faulted request either never reaches the emulator
(throttling, 503, connection reset) or is carried out and then its answer is lost (500 after the write, read
timeout). The second kind is what turns a retry into a second RegisterTaskDefinition or UpdateService.

A decision depends only on (seed, operation, the request's identifying parameters, how many times that request
was sent), never on thread timing, so a run is reproducible even though the deploy engine works concurrently.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.retries import quota, standard
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from ecr_autodeploy.aws.clients import Clients

# Request parameters that name what a call is about; volatile ones (timestamps, generated ids) stay out of the key.
IDENTITY_FIELDS = (
    "cluster",
    "service",
    "services",
    "family",
    "taskDefinition",
    "repositoryName",
    "imageIds",
    "TableName",
    "Key",
    "TopicArn",
    "Name",
    "SecretId",
)
WRITES = ("RegisterTaskDefinition", "UpdateService")


@dataclass(frozen=True)
class Fault:
    """One kind of transient fault: an error answer, or a broken connection, before or after the server acted."""

    name: str
    reaches_server: bool
    status: int = 0
    code: str = ""
    exception: Callable[..., Exception] | None = None


THROTTLING = Fault("throttling", reaches_server=False, status=400, code="ThrottlingException")
HTTP_500 = Fault("http-500", reaches_server=True, status=500, code="InternalFailure")
HTTP_503 = Fault("http-503", reaches_server=False, status=503, code="ServiceUnavailable")
CONNECTION_RESET = Fault("connection-reset", reaches_server=False, exception=ConnectionClosedError)
READ_TIMEOUT = Fault("read-timeout", reaches_server=True, exception=ReadTimeoutError)
KINDS = (THROTTLING, HTTP_500, HTTP_503, CONNECTION_RESET, READ_TIMEOUT)


@dataclass(frozen=True)
class Write:
    """A RegisterTaskDefinition or UpdateService the emulator carried out (whether or not the caller heard back)."""

    operation: str
    params: Mapping[str, Any]
    reply: Mapping[str, Any]
    reply_lost: bool


@dataclass
class Injector:
    """The before-send hook: decides a fault per request, forwards the rest to moto, records what moto carried out."""

    seed: int
    rate: float
    kinds: tuple[Fault, ...] = KINDS
    # Real AWS carries out each request atomically; moto does not lock, so concurrent tests serialise it here.
    serialize: bool = False
    calls: Counter[str] = field(default_factory=Counter)  # API calls made by the code (before botocore's retries)
    sent: Counter[str] = field(default_factory=Counter)  # requests sent, retries included
    faults: Counter[str] = field(default_factory=Counter)
    writes: list[Write] = field(default_factory=list)
    _attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: threading.Lock = field(default_factory=threading.Lock)

    def install(self, client: Any, max_attempts: int | None = None) -> None:
        """Put this injector in front of moto on `client`, with zero-backoff standard retries."""
        protocol = str(client.meta.service_model.protocol)
        client.meta.events.unregister("before-send", botocore_stubber)
        client.meta.events.register_first(
            "before-send", lambda request, event_name, **_: self.send(request, event_name, protocol)
        )
        client.meta.events.register("before-call", self._count_call)
        fast_retries(client, max_attempts)

    def send(self, request: AWSPreparedRequest, event_name: str, protocol: str) -> AWSResponse:
        """Return moto's answer, a fault answer, or raise a connection fault."""
        operation = event_name.rsplit(".", 1)[-1]
        params = _params(request)
        fault = self._decide(operation, params)
        if fault is not None and not fault.reaches_server:
            return _fail(fault, request, protocol)
        response = self._serve(request, event_name, params, reply_lost=fault is not None)
        if fault is not None:
            return _fail(fault, request, protocol)
        return response

    def _count_call(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def _serve(
        self, request: AWSPreparedRequest, event_name: str, params: Mapping[str, Any], *, reply_lost: bool
    ) -> AWSResponse:
        """Return moto's answer; record a write in the order the emulator carried it out."""
        operation = event_name.rsplit(".", 1)[-1]
        with self._server if self.serialize else contextlib.nullcontext():
            response = botocore_stubber(event_name=event_name, request=request)
            if response is None:
                raise AssertionError(f"moto does not handle {event_name} ({request.url}); is mock_aws active?")
            if operation in WRITES and response.status_code == 200:
                with self._lock:
                    self.writes.append(Write(operation, params, json.loads(response.content), reply_lost))
        return response

    def _decide(self, operation: str, params: Mapping[str, Any]) -> Fault | None:
        identity = json.dumps({k: params[k] for k in IDENTITY_FIELDS if k in params}, sort_keys=True, default=str)
        item = params.get("Item")
        if isinstance(item, Mapping) and "pk" in item:
            identity += json.dumps(item["pk"], sort_keys=True)
        key = f"{operation}|{identity}"
        with self._lock:
            self.sent[operation] += 1
            self._attempts[key] += 1
            draw = random.Random(f"{self.seed}|{key}|{self._attempts[key]}")
            if draw.random() >= self.rate:
                return None
            fault = draw.choice(self.kinds)
            self.faults[fault.name] += 1
            return fault


class FaultyClients(Clients):
    """The project's client factory, with every client it makes routed through an Injector."""

    def __init__(self, injector: Injector, *, max_attempts: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.injector = injector
        self._max_attempts = max_attempts
        self._hooked: set[int] = set()
        self._hook_lock = threading.Lock()

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        """Return the cached client, hooked on first sight."""
        found = super().client(service, region, role_arn)
        with self._hook_lock:
            if id(found) not in self._hooked:
                self.injector.install(found, self._max_attempts)
                self._hooked.add(id(found))
        return found


def fast_retries(client: Any, max_attempts: int | None = None) -> None:
    """Replace the client's standard retry handler by the same one with zero backoff (and `max_attempts` if given).

    Everything else is botocore's own: which errors are retried, the attempt limit, the retry quota.
    """
    name = client.meta.service_model.service_id.hyphenize()
    attempts = max_attempts or int(client.meta.config.retries["total_max_attempts"])
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    checker = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=attempts),
            retry_backoff=standard.ExponentialBackoff(
                random=lambda: 0.0, service_name=name, throttling_detector=detector
            ),
        ),
        retry_event_adapter=adapter,
        retry_quota=checker,  # type: ignore[arg-type]  # botocore passes the checker; the stubs say RetryQuota
        service_name=name,
    )
    unique_id = f"retry-config-{name}"
    client.meta.events.unregister(f"needs-retry.{name}", unique_id=unique_id)
    client.meta.events.register(f"after-call.{name}", checker.release_retry_quota)
    client.meta.events.register(f"needs-retry.{name}", handler.needs_retry, unique_id=unique_id)


def _params(request: AWSPreparedRequest) -> dict[str, Any]:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body or not isinstance(body, str) or not body.startswith("{"):
        return {}
    parsed = json.loads(body)
    return parsed if isinstance(parsed, dict) else {}


def _fail(fault: Fault, request: AWSPreparedRequest, protocol: str) -> AWSResponse:
    if fault.exception is not None:
        raise fault.exception(endpoint_url=request.url)
    message = f"injected {fault.name}"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": fault.code, "message": message})
        headers = {"x-amzn-errortype": fault.code, "content-type": "application/x-amz-json-1.1"}
    else:
        body = f"<ErrorResponse><Error><Code>{fault.code}</Code><Message>{message}</Message></Error></ErrorResponse>"
        headers = {"content-type": "text/xml"}
    return AWSResponse(request.url, fault.status, headers, MockRawResponse(body))  # type: ignore[arg-type]
