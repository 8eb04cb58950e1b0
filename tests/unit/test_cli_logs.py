"""What the CLI's logging shows people: short lines, no secrets, decisions left to the tables."""

from __future__ import annotations

import json
import logging

import pytest

from ecr_autodeploy.cli.logs import configure, human, scrub

AUTHORIZATION = (
    "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef', "
    "'X-Amz-Security-Token': b'IQoJb3JpZ2luX2VjEXAMPLETOKEN'}"
)


def test_credentials_signatures_and_tokens_are_scrubbed() -> None:
    text = scrub(AUTHORIZATION)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "0123456789abcdef0123456789abcdef", "IQoJb3JpZ2luX2VjEXAMPLETOKEN"):
        assert secret not in text
    assert "Signature=***" in text


def test_secret_values_in_response_bodies_are_scrubbed() -> None:
    body = (
        'Response body: b\'{"ARN":"arn:aws:secretsmanager:x","SecretString":"https://hooks.slack.com/services/T/B/X"}\''
    )
    text = scrub(body)
    assert "hooks.slack.com/services" not in text
    assert '"SecretString":"***' in text
    parameter = scrub('{"Parameter":{"Name":"/hook","Value":"https://example.com/secret-path"}}')
    assert "secret-path" not in parameter


def test_decisions_and_notes_are_left_to_the_cli_and_the_rest_reads_as_text() -> None:
    assert human(json.dumps({"event_id": "e", "status": "deployed"})) is None
    assert human(json.dumps({"event_id": "e", "note": "ledger off"})) is None
    assert human(json.dumps({"service": "us-east-1/shop/api", "lock": "release failed"})) == (
        "service: us-east-1/shop/api; lock: release failed"
    )
    assert human("plain text") == "plain text"


def test_warnings_become_one_human_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure(False)
    logger = logging.getLogger("ecr_autodeploy")
    logger.info(json.dumps({"event_id": "e", "status": "deployed"}))
    logger.warning(json.dumps({"event_id": "e", "note": "a note"}))
    logger.error(json.dumps({"service": "s", "ledger": "record failed"}))
    assert capsys.readouterr().err == "error: service: s; ledger: record failed\n"
