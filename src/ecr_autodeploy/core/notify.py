"""Notifications as data: the ``notify:`` settings of a rules document and the messages sent to SNS/Slack/webhooks.

    notify:
      sns_topic_arn: arn:aws:sns:REGION:ACCOUNT:TOPIC
      slack_webhook_ssm_parameter: /name       # SSM SecureString holding the Slack incoming-webhook URL
      slack_webhook_secret_id: name-or-arn     # ... or a Secrets Manager secret (plain URL, or JSON {"url": ...})
      webhook_url_ssm_parameter: /name         # SSM SecureString holding a generic HTTPS webhook URL
      webhook_url_secret_id: name-or-arn       # ... or a Secrets Manager secret (plain URL, or JSON {"url": ...})
      on: [started, completed, failed, replication_failed, drift, missing, approval, stopped]   # default: all
Webhook URLs are secrets: settings name where they are stored, never the URL itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal
from urllib.parse import quote

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.lazy_re import Lazy
from ecr_autodeploy.core.values import frozen

MessageKind = Literal["started", "completed", "failed", "replication_failed", "drift", "missing", "approval", "stopped"]
MESSAGE_KINDS: tuple[MessageKind, ...] = (
    "started",
    "completed",
    "failed",
    "replication_failed",
    "drift",
    "missing",
    "approval",  # an approval requested (with the command that gives it), or closed unapproved at its deadline
    "stopped",  # a failed wave stopped the rest of a max_parallel fan-out
)
NOTIFY_KEYS = (
    "sns_topic_arn",
    "slack_webhook_ssm_parameter",
    "slack_webhook_secret_id",
    "webhook_url_ssm_parameter",
    "webhook_url_secret_id",
    "on",
)
SNS_SUBJECT_MAX = 100  # SNS rejects longer subjects
_SNS_ARN_RE = Lazy(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?\Z")
_SSM_NAME_RE = Lazy(r"^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter)?/?[A-Za-z0-9_.\-/]{1,2048}\Z")
_EMOJI = {
    "started": "🚀",
    "completed": "✅",
    "failed": "❌",
    "replication_failed": "⚠️",
    "drift": "🔁",
    "missing": "❓",
    "approval": "✋",
    "stopped": "⛔",
}


@frozen
class NotifySettings:
    """Where notifications go and which kinds are sent."""

    sns_topic_arn: str | None = None
    slack_webhook_ssm_parameter: str | None = None
    slack_webhook_secret_id: str | None = None
    webhook_url_ssm_parameter: str | None = None
    webhook_url_secret_id: str | None = None
    on: frozenset[MessageKind] = frozenset(MESSAGE_KINDS)

    @property
    def any(self) -> bool:
        """Return True when at least one channel is configured."""
        return bool(
            self.sns_topic_arn
            or self.slack_webhook_ssm_parameter
            or self.slack_webhook_secret_id
            or self.webhook_url_ssm_parameter
            or self.webhook_url_secret_id
        )


def parse_notify(raw: object, source: str) -> NotifySettings | None:
    """Return the notify settings of a document's ``notify`` value (None when absent); raise ConfigError."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(source, f"expected a mapping, got {type(raw).__name__}", field="notify")
    for key in raw:
        if key not in NOTIFY_KEYS:
            raise ConfigError(source, f"unknown key {key!r} (expected one of {', '.join(NOTIFY_KEYS)})", field="notify")
    values: dict[str, str | None] = {}
    for key in NOTIFY_KEYS[:-1]:
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(source, "expected a non-empty string", field=f"notify.{key}")
        values[key] = value
    topic = values["sns_topic_arn"]
    if topic is not None and not _SNS_ARN_RE.match(topic):
        raise ConfigError(source, f"not an SNS topic ARN: {topic[:120]!r}", field="notify.sns_topic_arn")
    for key in (
        "slack_webhook_ssm_parameter",
        "webhook_url_ssm_parameter",
        "slack_webhook_secret_id",
        "webhook_url_secret_id",
    ):
        # A URL pasted here is the secret itself: say so without repeating it.
        if (values[key] or "").startswith(("http://", "https://")):
            where = "secret's name or ARN" if key.endswith("secret_id") else "parameter's name"
            raise ConfigError(source, f"give the {where}, not the URL", field=f"notify.{key}")
    for key in ("slack_webhook_ssm_parameter", "webhook_url_ssm_parameter"):
        name = values[key]
        if name is not None and not _SSM_NAME_RE.match(name):
            raise ConfigError(source, f"not an SSM parameter name: {name[:120]!r}", field=f"notify.{key}")
    for channel in ("slack_webhook", "webhook_url"):
        if values[f"{channel}_ssm_parameter"] and values[f"{channel}_secret_id"]:
            raise ConfigError(source, f"set {channel}_ssm_parameter or {channel}_secret_id, not both", field="notify")
    secret = values["slack_webhook_secret_id"]
    kinds: frozenset[MessageKind] = frozenset(MESSAGE_KINDS)
    if raw.get("on") is not None:
        items = raw["on"]
        if not isinstance(items, list | tuple):
            raise ConfigError(source, f"expected a list, got {type(items).__name__}", field="notify.on")
        chosen: set[MessageKind] = set()
        for i, item in enumerate(items):
            if item not in MESSAGE_KINDS:
                raise ConfigError(source, f"{item!r} is not one of {', '.join(MESSAGE_KINDS)}", field=f"notify.on[{i}]")
            chosen.add(item)
        kinds = frozenset(chosen)
    return NotifySettings(
        sns_topic_arn=topic,
        slack_webhook_ssm_parameter=values["slack_webhook_ssm_parameter"],
        slack_webhook_secret_id=secret,
        webhook_url_ssm_parameter=values["webhook_url_ssm_parameter"],
        webhook_url_secret_id=values["webhook_url_secret_id"],
        on=kinds,
    )


@frozen
class Message:
    """One notification: what happened to which image on which service, with a console link."""

    kind: MessageKind
    outcome: str
    reason: str
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    region: str | None = None
    account: str | None = None
    source_region: str | None = None
    source_account: str | None = None
    cluster: str | None = None
    service: str | None = None
    task_definition: str | None = None
    deployment_id: str | None = None
    duration_seconds: float | None = None
    console_url: str | None = None
    command: str | None = None  # what a person runs about it (the approve command)

    @property
    def revision(self) -> str | None:
        """Return ``family:revision`` of the task definition."""
        return self.task_definition.rsplit("/", 1)[-1] if self.task_definition else None

    @property
    def image(self) -> str:
        """Return ``repository:tag@digest`` as far as known."""
        text = self.repository or "?"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest[:19]}"
        return text

    @property
    def subject(self) -> str:
        """Return a one-line summary (at most 100 characters, SNS's limit)."""
        where = f"{self.cluster}/{self.service}" if self.service else (self.region or "")
        line = f"ecr-autodeploy {self.outcome}: {self.image} -> {where}"
        return line if len(line) <= SNS_SUBJECT_MAX else line[: SNS_SUBJECT_MAX - 3] + "..."

    def fields(self) -> list[tuple[str, str]]:
        """Return the labelled details, in display order, without empty ones."""
        rows = [
            ("Outcome", self.outcome),
            ("Reason", self.reason),
            ("Repository", self.repository),
            ("Tag", self.tag),
            ("Digest", self.digest),
            ("Source", "/".join(x for x in (self.source_region, self.source_account) if x) or None),
            ("Service", f"{self.region}/{self.cluster}/{self.service}" if self.service else None),
            ("Task definition", self.revision),
            ("Deployment", self.deployment_id),
            ("Duration", f"{self.duration_seconds:.0f}s" if self.duration_seconds is not None else None),
            ("Run", self.command),
            ("Console", self.console_url),
        ]
        return [(k, v) for k, v in rows if v]

    def text(self) -> str:
        """Return the message as plain text (SNS e-mail, logs)."""
        return "\n".join([self.subject, "", *(f"{k}: {v}" for k, v in self.fields())])

    def to_dict(self) -> dict[str, Any]:
        """Return the message as JSON-ready data (the generic webhook's body)."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        data["source"] = "ecr-autodeploy"
        if self.revision:
            data["revision"] = self.revision
        return data


def slack_payload(message: Message) -> dict[str, Any]:
    """Return the Slack incoming-webhook body: a text summary and a section with the details."""
    details = "\n".join(
        f"*{k}:* {_slack_escape(v) if k != 'Console' else f'<{v}|open in console>'}" for k, v in message.fields()
    )
    summary = f"{_EMOJI[message.kind]} {_slack_escape(message.subject)}"
    return {
        "text": summary,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
            {"type": "section", "text": {"type": "mrkdwn", "text": details}},
        ],
    }


def service_console_url(region: str, cluster: str, service: str) -> str:
    """Return the ECS console page of a service's deployments."""
    return (
        f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{quote(cluster)}/services/{quote(service)}"
        f"/deployments?region={region}"
    )


def repository_console_url(region: str, account: str, repository: str) -> str:
    """Return the ECR console page of a repository."""
    path = quote(repository, safe="/")
    return f"https://{region}.console.aws.amazon.com/ecr/repositories/private/{account}/{path}?region={region}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
