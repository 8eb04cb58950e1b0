"""Events to the function on the emulator: moto matches rules but cannot invoke a Lambda target nor run its code.

The route: every installed event-pattern rule gets one more target, an SQS queue of the emulator (target Id
``emulator-delivery``, given the same input as the function's own target), so moto's own pattern matching
decides which events reach the function. A poller takes each event from the queue and does what Lambda's
asynchronous invocation does: it runs the handler the function's configuration names
(``ecr_autodeploy.handler.handler``, loaded fresh: a cold start) with the function's environment variables,
retries a failed invocation up to the configured MaximumRetryAttempts, then sends Lambda's on-failure record to
the configured on-failure destination. The handler code path is the real one: the same code the Lambda runs.

Gaps of the emulator, filled here explicitly:
  * moto raises NotImplementedError when a matched rule has a Lambda target, failing the whole PutEvents call;
    `skip_lambda_targets` leaves those targets to this route.
  * The envelopes moto delivers to SQS lack ``account``; it is filled with the account of the bus, which is
    what EventBridge puts there (`Invocation.filled` names every field filled).
  * moto applies only InputTransformer to SQS targets; a constant Input (or an InputPath) of the function's
    target is given to the queue target as the equivalent InputTransformer.
  * moto never fires a schedule rule, and would match one (it has no pattern) to every event on the bus: schedule
    rules are not routed (`Delivery.schedules` lists them).
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.emulator import ACCOUNT, FAKE_CREDENTIALS, patched_environ

DELIVERY_TARGET_ID = "emulator-delivery"
QUEUE_NAME = "ecr-autodeploy-emulator-delivery"
ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
_DEFAULT_RETRIES = 2  # Lambda's default MaximumRetryAttempts for asynchronous invocation


@contextmanager
def skip_lambda_targets() -> Iterator[None]:
    """Let moto deliver matched events to a rule's other targets, leaving its Lambda targets to this route."""
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        others = [t for t in self.targets if ":lambda:" not in str(t.get("Arn", ""))]
        if len(others) == len(self.targets):
            original(self, event, transform_input)
            return
        # A shallow copy with the other targets only: the stored rule (and ListTargetsByRule) stays as installed.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.targets = others
        original(clone, event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Rule.send_to_targets = original  # type: ignore[method-assign]


@frozen
class LambdaContext:
    """The context object a Python Lambda handler receives (the fields this project's handler may read)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the function's timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@frozen
class Invocation:
    """One run of the function on one delivered event: its result, or the error it raised, and its log lines."""

    event: dict[str, Any]
    filled: tuple[str, ...]
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    logs: tuple[str, ...] = ()
    seconds: float = 0.0
    dead_lettered: bool = False
    request_ids: tuple[str, ...] = field(default=(), compare=False)

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        """Return the outcomes the function reported (from its result, or carried by its DeployError)."""
        if self.result is not None:
            return list(self.result.get("outcomes", []))
        return []


class Delivery:
    """The route from the installed rules to the function's handler, run like Lambda runs it."""

    def __init__(
        self,
        clients: Clients,
        region: str,
        function_name: str,
        rule_names: Sequence[str],
        *,
        account: str = ACCOUNT,
        poll_interval: float = 0.05,
    ) -> None:
        self._clients = clients
        self.region = region
        self.function_name = function_name
        self._rules = tuple(rule_names)
        self._account = account
        self._poll = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._patch = skip_lambda_targets()
        self._patched = False
        self._handler: Callable[[object, object], Any] | None = None
        self._task_root: tempfile.TemporaryDirectory[str] | None = None
        self._config: dict[str, Any] = {}
        self._retries = _DEFAULT_RETRIES
        self._on_failure: str | None = None
        self.queue_url = ""
        self.queue_arn = ""
        self.invocations: list[Invocation] = []
        self.schedules: list[str] = []  # schedule rules, not routed (see start)
        self.errors: list[str] = []

    # ---- set-up -------------------------------------------------------------------------------------------

    def start(self) -> Delivery:
        """Create the queue, add it to every installed rule, load the handler, start polling; return self."""
        self._patch.__enter__()
        self._patched = True
        sqs = self._clients.client("sqs", self.region)
        with aws_errors("creating delivery queue", QUEUE_NAME):
            self.queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]
        events = self._clients.client("events", self.region)
        rule_arns = []
        for name in self._rules:
            with aws_errors("routing rule to the delivery queue", name):
                rule = events.describe_rule(Name=name)
                if not rule.get("EventPattern"):
                    # A schedule: moto never fires it, and would match it to every event on the bus.
                    self.schedules.append(name)
                    continue
                rule_arns.append(rule["Arn"])
                own = [t for t in events.list_targets_by_rule(Rule=name)["Targets"] if ":lambda:" in t["Arn"]]
                target = {"Id": DELIVERY_TARGET_ID, "Arn": self.queue_arn, **_same_input(own[0] if own else {})}
                answer = events.put_targets(Rule=name, Targets=[target])
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"PutTargets on rule {name} failed: {answer['FailedEntries']}")
        # What AWS requires for an SQS target (moto does not check it): EventBridge may send from these rules only.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": self.queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                }
            ],
        }
        with aws_errors("setting delivery queue policy", QUEUE_NAME):
            sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        self._load_function()
        self._thread = threading.Thread(target=self._run, name="emulated-lambda", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and give moto its Lambda-target behaviour back; safe to call twice."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        if self._patched:
            self._patched = False
            self._patch.__exit__(None, None, None)
        root, self._task_root = self._task_root, None
        if root is not None:
            root.cleanup()

    def _load_function(self) -> None:
        lam = self._clients.client("lambda", self.region)
        with aws_errors("reading function configuration", self.function_name):
            self._config = dict(lam.get_function_configuration(FunctionName=self.function_name))
            try:
                invoke = lam.get_function_event_invoke_config(FunctionName=self.function_name)
            except lam.exceptions.ResourceNotFoundException:
                invoke = {}
        self._retries = int(invoke.get("MaximumRetryAttempts", _DEFAULT_RETRIES))
        self._on_failure = invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self._unpack_code()
        module_name, _, attribute = str(self._config["Handler"]).rpartition(".")
        spec = importlib.util.find_spec(module_name)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"function {self.function_name}: handler module {module_name!r} not found")
        # A module object of its own, outside sys.modules: a cold start, with nothing cached from earlier runs.
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self._handler = getattr(module, attribute)

    def _unpack_code(self) -> None:
        """Unpack the function's zip as Lambda does (LAMBDA_TASK_ROOT): the rules install put in it are read there."""
        from ecr_autodeploy.local.emulator import backend

        code = backend("lambda", self.region, self._account).get_function(self.function_name).code_bytes
        self._task_root = tempfile.TemporaryDirectory(prefix="ecr-autodeploy-task-")
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(self._task_root.name)

    # ---- delivering -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        sqs = self._clients.client("sqs", self.region)
        while not self._stop.is_set():
            try:
                with aws_errors("receiving delivered events", QUEUE_NAME):
                    answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
                messages = answer.get("Messages", [])
                for message in messages:
                    self.deliver(json.loads(message["Body"]))
                    with aws_errors("deleting delivered event", QUEUE_NAME):
                        sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as err:  # noqa: BLE001 - a background thread reports its failure instead of dying silently
                self.errors.append(f"delivering events: {type(err).__name__}: {err}")
                with self._changed:
                    self._changed.notify_all()
                return
            if not messages:
                self._stop.wait(self._poll)

    def deliver(self, body: dict[str, Any]) -> Invocation:
        """Invoke the function on one delivered envelope as Lambda's asynchronous invocation does; record it."""
        event, filled = self.complete_envelope(body)
        started = time.monotonic()
        logs: list[str] = []
        request_ids: list[str] = []
        result: dict[str, Any] | None = None
        error: str | None = None
        attempts = 0
        while attempts <= self._retries:
            attempts += 1
            request_id = str(uuid.uuid4())
            request_ids.append(request_id)
            result, error, lines = self.invoke(event, request_id)
            logs.extend(lines)
            if error is None:
                break
        dead = False
        if error is not None and self._on_failure:
            self._send_on_failure(event, error, attempts, request_ids[-1])
            dead = True
        invocation = Invocation(
            event, filled, attempts, result, error, tuple(logs), time.monotonic() - started, dead, tuple(request_ids)
        )
        with self._changed:
            self.invocations.append(invocation)
            self._changed.notify_all()
        return invocation

    def complete_envelope(self, body: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Return the envelope with the fields moto leaves out filled in, and the names of those fields."""
        event = dict(body)
        filled = []
        if "id" not in event or "detail-type" not in event:
            return event, ()  # a target's constant Input or transformed input: not an envelope
        if "account" not in event:
            # EventBridge sets "account" to the account of the bus; moto's SQS delivery leaves it out.
            event["account"] = self._account
            filled.append("account")
        # Keep the documented key order, as EventBridge sends it.
        ordered = {k: event[k] for k in ENVELOPE_KEYS if k in event}
        ordered |= {k: v for k, v in event.items() if k not in ordered}
        return ordered, tuple(filled)

    def invoke(self, event: dict[str, Any], request_id: str) -> tuple[dict[str, Any] | None, str | None, list[str]]:
        """Run the handler once in the function's environment; return (result, error, log lines)."""
        if self._handler is None:
            raise RuntimeError("the delivery route is not started")
        config = self._config
        env = {
            **config.get("Environment", {}).get("Variables", {}),
            **FAKE_CREDENTIALS,  # the execution role's credentials, on the emulator
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "LAMBDA_TASK_ROOT": self._task_root.name if self._task_root else "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.get('Runtime', 'python3.12')}",
        }
        context = LambdaContext(
            function_name=self.function_name,
            invoked_function_arn=str(config.get("FunctionArn", "")),
            memory_limit_in_mb=int(config.get("MemorySize", 128)),
            aws_request_id=request_id,
            deadline=time.monotonic() + float(config.get("Timeout", 3)),
        )
        capture = _LogCapture()
        logger = logging.getLogger("ecr_autodeploy")
        logger.addHandler(capture)
        try:
            with patched_environ(env):
                result = self._handler(event, context)
            return (result if isinstance(result, dict) else {"result": result}), None, capture.lines
        except Exception as err:  # noqa: BLE001 - Lambda records any unhandled error as a failed invocation
            return None, f"{type(err).__name__}: {err}", capture.lines
        finally:
            logger.removeHandler(capture)

    def _send_on_failure(self, event: dict[str, Any], error: str, attempts: int, request_id: str) -> None:
        error_type, _, message = error.partition(": ")
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{self._config.get('FunctionArn', '')}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": message, "errorType": error_type},
        }
        sqs = self._clients.client("sqs", self.region)
        queue_name = str(self._on_failure).rsplit(":", 1)[-1]
        with aws_errors("sending to the on-failure destination", str(self._on_failure)):
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    def redeliver(self, event: dict[str, Any]) -> None:
        """Deliver the very same envelope again (EventBridge and Lambda deliver at least once)."""
        sqs = self._clients.client("sqs", self.region)
        with aws_errors("delivering an event again", QUEUE_NAME):
            sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))

    def wait_for(self, predicate: Callable[[Invocation], bool], timeout: float, *, count: int = 1) -> list[Invocation]:
        """Return the invocations `predicate` selects once there are `count` of them, or those found by the timeout."""

        def found() -> list[Invocation]:
            return [i for i in self.invocations if predicate(i)]

        with self._changed:
            self._changed.wait_for(lambda: len(found()) >= count or bool(self.errors), timeout)
            return found()


def _same_input(target: dict[str, Any]) -> dict[str, Any]:
    """Return the input settings that give an SQS target the input the function's target gets.

    moto applies only InputTransformer to SQS targets; a constant Input is the transformer whose template is that
    constant, and an InputPath the transformer whose template is the one selected value.
    """
    if "InputTransformer" in target:
        return {"InputTransformer": target["InputTransformer"]}
    if "Input" in target:
        return {"InputTransformer": {"InputPathsMap": {}, "InputTemplate": target["Input"]}}
    if "InputPath" in target:
        return {"InputTransformer": {"InputPathsMap": {"selected": target["InputPath"]}, "InputTemplate": "<selected>"}}
    return {}


class _LogCapture(logging.Handler):
    """Collect the function's log lines of one invocation (CloudWatch Logs, on the emulator)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
