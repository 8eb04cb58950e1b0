"""Logging for people: the engine's JSON decision lines become short human lines, or with --debug stay as they are.

The engine logs one JSON line per decision (what the Lambda sends to CloudWatch). The CLI prints the same
decisions as tables and notes, so by default it shows only what needs a person's eye (warnings and errors), as
``warning: ...`` lines; ``--debug`` shows every JSON line and botocore's own detail. Secrets never reach the
terminal either way: credentials, signatures, session tokens and secret values are scrubbed from every line.
"""

from __future__ import annotations

import json
import logging
import re
import sys

# (pattern, replacement): what botocore's DEBUG lines and error texts may hold that must not be shown.
SCRUBS = (
    (re.compile(r"(Credential=)[^/,\s'\"]+"), r"\1***"),
    (re.compile(r"(Signature=)[0-9a-fA-F]+"), r"\1***"),
    (re.compile(r"(X-Amz-(?:Security-Token|Signature|Credential)['\"]?\s*[:=]\s*b?['\"]?)[^'\"&\s,}]+"), r"\1***"),
    (
        re.compile(
            r"((?:\\?[\"'])(?:SecretString|SecretBinary|SecretAccessKey|SessionToken|AccessKeyId|Value|Token|"
            r"Password|aws_secret_access_key|aws_session_token)(?:\\?[\"'])\s*:\s*(?:\\?[\"']))[^\"'\\]*"
        ),
        r"\1***",
    ),
    (re.compile(r"https://hooks\.slack\.com/[^\s'\"]+"), "https://hooks.slack.com/***"),
    (re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}"), r"\1****************"),
)
QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def scrub(text: str) -> str:
    """Return `text` with credentials, signatures, tokens and secret values replaced by ***."""
    for pattern, replacement in SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def human(message: str) -> str | None:
    """Return one JSON log line as a short line for people, or None when the CLI prints it another way."""
    try:
        data = json.loads(message)
    except ValueError:
        return message
    if not isinstance(data, dict):
        return message
    if "note" in data or "status" in data:
        return None  # notes and decisions: the CLI prints them (note: lines, tables)
    parts = [f"{k}: {v}" for k, v in data.items() if v is not None]
    return "; ".join(parts)


class HumanHandler(logging.Handler):
    """Print warnings and errors of the engine as ``warning: ...`` / ``error: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = human(record.getMessage())
            if text is None:
                return
            sys.stderr.write(f"{record.levelname.lower()}: {scrub(text)}\n")
        except Exception:  # noqa: BLE001 - logging must never break a command
            self.handleError(record)


class ScrubbingFormatter(logging.Formatter):
    """Format as usual, then scrub secrets."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure(debug: bool) -> None:
    """Send log records to stderr as people should see them (every detail, scrubbed, with `debug`)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ecr_autodeploy", False):
            root.removeHandler(handler)
    engine = logging.getLogger("ecr_autodeploy")
    for handler in list(engine.handlers):
        if getattr(handler, "_ecr_autodeploy", False):
            engine.removeHandler(handler)
    if debug:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        stream._ecr_autodeploy = True  # type: ignore[attr-defined]
        root.addHandler(stream)
        root.setLevel(logging.DEBUG)
        engine.setLevel(logging.DEBUG)
        engine.propagate = True
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
        return
    handler = HumanHandler(logging.WARNING)
    handler._ecr_autodeploy = True  # type: ignore[attr-defined]
    engine.addHandler(handler)
    engine.setLevel(logging.INFO)
    engine.propagate = False  # not to Python's last-resort handler, which printed the raw JSON a second time
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
