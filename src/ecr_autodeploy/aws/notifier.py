"""Send notifications: SNS publish, Slack incoming webhook, generic HTTPS webhook (urllib, no extra packages).

Webhook URLs are secrets: read on first use from SSM Parameter Store (SecureString, WithDecryption) or Secrets
Manager, kept in memory only, never logged (error text is scrubbed of them) and never put in results. A failing
channel is logged and skipped: a notification never fails, delays for long, or repeats a deployment.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.notify import Message, NotifySettings, slack_payload
from ecr_autodeploy.core.values import frozen

logger = logging.getLogger("ecr_autodeploy")
TIMEOUT_SECONDS = 5.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
REDACTED = "<redacted>"

# (url, JSON body, timeout) -> HTTP status; the default posts with urllib.
Poster = Callable[[str, bytes, float], int]


@frozen
class Delivery:
    """What happened to one message on one channel (never carries a URL)."""

    channel: str
    ok: bool
    error: str | None = None


def post_json(url: str, body: bytes, timeout: float) -> int:
    """POST a JSON body; return the HTTP status (urllib raises HTTPError for 4xx/5xx)."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "ecr-autodeploy"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


class Notifier:
    """Deliver messages to every configured channel; never raises."""

    def __init__(
        self,
        settings: NotifySettings,
        clients: Clients,
        *,
        post: Poster = post_json,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.settings = settings
        self._clients = clients
        self._post = post
        self._timeout = timeout
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def notify(self, message: Message) -> list[Delivery]:
        """Send the message to each channel that takes its kind; return what happened on each."""
        if message.kind not in self.settings.on:
            return []
        s = self.settings
        channels: list[tuple[str, Callable[[], None]]] = []
        if s.sns_topic_arn:
            channels.append((f"sns {s.sns_topic_arn}", lambda: self._sns(message)))
        if s.slack_webhook_ssm_parameter or s.slack_webhook_secret_id:
            channels.append(("slack", lambda: self._webhook("slack", json.dumps(slack_payload(message)))))
        if s.webhook_url_ssm_parameter or s.webhook_url_secret_id:
            channels.append(("webhook", lambda: self._webhook("webhook", json.dumps(message.to_dict()))))
        deliveries = []
        for name, send in channels:
            try:
                send()
            except Exception as err:  # noqa: BLE001 - a notifier must never fail or repeat a deployment
                text = self._scrub(f"{type(err).__name__}: {err}")
                deliveries.append(Delivery(name, False, text))
                logger.error(json.dumps({"notify": name, "kind": message.kind, "delivered": False, "error": text}))
            else:
                deliveries.append(Delivery(name, True))
                logger.info(json.dumps({"notify": name, "kind": message.kind, "delivered": True}))
        return deliveries

    def notify_all(self, messages: Iterable[Message]) -> list[Delivery]:
        """Send several messages; return every delivery."""
        return [d for m in messages for d in self.notify(m)]

    # ---- channels -------------------------------------------------------------------------------------------

    def _sns(self, message: Message) -> None:
        topic = self.settings.sns_topic_arn or ""
        client = self._clients.client("sns", topic.split(":")[3] or None)
        attributes = {"kind": {"DataType": "String", "StringValue": message.kind}}
        if message.service:
            attributes["service"] = {"DataType": "String", "StringValue": f"{message.cluster}/{message.service}"}
        with aws_errors("publishing notification", topic):
            client.publish(
                TopicArn=topic,
                Subject=message.subject.encode("ascii", "replace").decode("ascii"),
                Message=message.text(),
                MessageAttributes=attributes,
            )

    def _webhook(self, channel: str, body: str) -> None:
        url = self._url(channel)
        status = self._post(url, body.encode("utf-8"), self._timeout)
        if not 200 <= status < 300:
            raise OSError(f"{channel} webhook answered HTTP {status}")

    # ---- secrets --------------------------------------------------------------------------------------------

    def _url(self, channel: str) -> str:
        with self._lock:
            url = self._urls.get(channel)
            if url is None:
                url = self._read_url(channel)
                self._urls[channel] = url
            return url

    def _read_url(self, channel: str) -> str:
        s = self.settings
        secret = s.slack_webhook_secret_id if channel == "slack" else s.webhook_url_secret_id
        if secret:
            where = f"secret {secret}"
            value = self._secret_value(secret)
        else:
            name = s.slack_webhook_ssm_parameter if channel == "slack" else s.webhook_url_ssm_parameter
            where = f"SSM parameter {name}"
            value = self._parameter(name or "")
        return webhook_url(value, where)

    def _parameter(self, name: str) -> str:
        region = name.split(":")[3] if name.startswith("arn:") else None
        with aws_errors("reading webhook URL", f"SSM parameter {name}"):
            found = self._clients.client("ssm", region).get_parameter(Name=name, WithDecryption=True)
        return str(found["Parameter"]["Value"])

    def _secret_value(self, secret_id: str) -> str:
        region = secret_id.split(":")[3] if secret_id.startswith("arn:") else None
        with aws_errors("reading webhook URL", f"secret {secret_id}"):
            found = self._clients.client("secretsmanager", region).get_secret_value(SecretId=secret_id)
        value = str(found.get("SecretString") or "")
        if value.lstrip().startswith("{"):
            try:
                data: Any = json.loads(value)
            except json.JSONDecodeError:
                return value
            if isinstance(data, dict):
                for key in ("url", "webhook_url", "slack_webhook_url"):
                    if isinstance(data.get(key), str):
                        return str(data[key])
        return value

    def _scrub(self, text: str) -> str:
        with self._lock:
            secrets = list(self._urls.values())
        return scrub(text, secrets)


def webhook_url(value: str, where: str) -> str:
    """Return the URL stored at `where`; raise ConfigError (naming `where`, never the value) when it is not HTTPS.

    A URL with a control character or a space in it is refused here, at read time: urllib strips some of them
    (tab, newline) before it sends and reports others in its errors, so the URL in an error would no longer be
    the stored one that scrubbing replaces.
    """
    url = value.strip()
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in url):
        raise ConfigError(where, "holds a URL with a control character or a space in it")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError(where, "does not hold a URL") from None
    local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not (parts.scheme == "https" and parts.hostname) and not local:
        raise ConfigError(where, "does not hold an https:// URL")
    return url


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Return text with every secret URL (and its path, the secret part of a Slack URL) replaced."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, REDACTED)
        path = urlsplit(secret).path
        if len(path) > 1:
            text = text.replace(path, REDACTED)
    return text
