"""The dead-letter queues install creates: what landed there, and taking it out again (SQS, read by the CLI).

Two queues per installation: ``NAME-dlq`` receives Lambda's on-failure records (the event in
``requestPayload``, the error in ``responsePayload``) once the function's retries are spent; ``NAME-target-dlq``
receives the events EventBridge could not hand to the function (the event itself, the error in message
attributes). Looking never hides a message from others (visibility timeout 0); taking one hides it while it is
redriven, and only a redrive that worked deletes it.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.values import frozen

QueueKind = Literal["function", "target"]
QUEUE_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
RECEIVE_MAX = 10  # ReceiveMessage returns at most 10 messages a call
REDRIVE_VISIBILITY_S = 60  # a message taken for redrive stays hidden this long unless deleted
EMPTY_ROUNDS = 3  # receives that bring nothing new before the queue counts as read through


@frozen
class DeadLetter:
    """One message of a dead-letter queue: the event it holds and why it landed there."""

    queue: QueueKind
    message_id: str
    event: Mapping[str, Any] | None
    error: str
    sent_at: str | None = None
    attempts: int | None = None
    receipt_handle: str = field(default="", repr=False, compare=False)
    body: str = field(default="", repr=False, compare=False)

    @property
    def event_id(self) -> str | None:
        """Return the id of the event, when the message holds one."""
        found = (self.event or {}).get("id")
        return None if found is None else str(found)

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """Return the message as JSON-ready data (with the whole event and body when `full`)."""
        data: dict[str, Any] = {
            "queue": self.queue,
            "message_id": self.message_id,
            "event_id": self.event_id,
            "detail_type": (self.event or {}).get("detail-type"),
            "error": self.error,
            "sent_at": self.sent_at,
            "attempts": self.attempts,
        }
        if full:
            data["event"] = self.event
            data["body"] = self.body
        return data


def parse_message(queue: QueueKind, message: Mapping[str, Any]) -> DeadLetter:
    """Return the dead letter in one ReceiveMessage entry (a Lambda record, or an EventBridge event)."""
    body = str(message.get("Body", ""))
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(timespec="seconds") if sent else None
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    event: Mapping[str, Any] | None = None
    error = ""
    attempts: int | None = None
    if isinstance(data, dict) and "requestPayload" in data:
        payload = data.get("requestPayload")
        event = payload if isinstance(payload, dict) else None
        response = data.get("responsePayload") or {}
        error = f"{response.get('errorType', '')}: {response.get('errorMessage', '')}".strip(": ")
        count = (data.get("requestContext") or {}).get("approximateInvokeCount")
        attempts = int(count) if count is not None else None
        error = error or str((data.get("requestContext") or {}).get("condition", ""))
    elif isinstance(data, dict):
        event = data
        values = {k: str(v.get("StringValue", "")) for k, v in (message.get("MessageAttributes") or {}).items()}
        error = ": ".join(x for x in (values.get("ERROR_CODE"), values.get("ERROR_MESSAGE")) if x)
        retries = values.get("RETRY_ATTEMPTS")
        attempts = int(retries) + 1 if retries and retries.isdigit() else None
    return DeadLetter(
        queue,
        str(message.get("MessageId", "")),
        event,
        error or "(no error recorded)",
        sent_at,
        attempts,
        str(message.get("ReceiptHandle", "")),
        body,
    )


class DeadLetterQueues:
    """The two dead-letter queues of one installation."""

    def __init__(self, clients: Clients, names: Mapping[QueueKind, str]) -> None:
        self._clients = clients
        self.names = dict(names)
        self._urls: dict[QueueKind, str | None] = {}

    def _sqs(self) -> Any:
        return self._clients.client("sqs")

    def url(self, queue: QueueKind) -> str | None:
        """Return the queue's URL, or None when it does not exist."""
        if queue not in self._urls:
            name = self.names[queue]
            with aws_errors("finding dead-letter queue", name):
                try:
                    self._urls[queue] = str(self._sqs().get_queue_url(QueueName=name)["QueueUrl"])
                except ClientError as err:
                    if str(err.response.get("Error", {}).get("Code")) not in QUEUE_MISSING:
                        raise
                    self._urls[queue] = None
        return self._urls[queue]

    def depth(self, queue: QueueKind) -> int | None:
        """Return how many messages the queue holds (visible and in flight), or None when it does not exist."""
        url = self.url(queue)
        if url is None:
            return None
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        with aws_errors("counting dead letters", self.names[queue]):
            found = self._sqs().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(found.get(name, 0)) for name in names)

    def peek(self, queue: QueueKind, limit: int = 100) -> list[DeadLetter]:
        """Return up to `limit` messages without hiding them from anyone (visibility timeout 0)."""
        return self._receive(queue, limit, visibility=0)

    def take(self, queue: QueueKind, limit: int = 100) -> list[DeadLetter]:
        """Return up to `limit` messages, hidden for REDRIVE_VISIBILITY_S while they are redriven."""
        return self._receive(queue, limit, visibility=REDRIVE_VISIBILITY_S)

    def delete(self, letter: DeadLetter) -> None:
        """Delete a message taken with `take` (it was redriven)."""
        url = self.url(letter.queue)
        if url is None:
            return
        with aws_errors("deleting dead letter", letter.message_id):
            self._sqs().delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)

    def _receive(self, queue: QueueKind, limit: int, *, visibility: int) -> list[DeadLetter]:
        url = self.url(queue)
        if url is None:
            return []
        found: dict[str, DeadLetter] = {}
        misses = 0
        while len(found) < limit and misses < EMPTY_ROUNDS:
            with aws_errors("reading dead letters", self.names[queue]):
                answer = self._sqs().receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(RECEIVE_MAX, limit - len(found)),
                    VisibilityTimeout=visibility,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            messages = answer.get("Messages", [])
            new = [m for m in messages if m.get("MessageId") not in found]
            # SQS answers with a sample of the queue; visibility 0 may give the same messages again.
            misses = 0 if new else misses + 1
            for message in new:
                letter = parse_message(queue, message)
                found[letter.message_id] = letter
        return list(found.values())
