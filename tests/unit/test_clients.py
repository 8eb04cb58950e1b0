"""The boto3 boundary honours the SDK's own settings: per-service endpoints, retry mode and attempts, profiles."""

from __future__ import annotations

import pytest

from ecr_autodeploy.aws.clients import (
    DEFAULT_ATTEMPTS,
    MAX_ATTEMPTS_LIMIT,
    Clients,
    retry_budget,
    retry_settings,
)
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger_items import LOCK_LEASE_SECONDS


def test_a_service_endpoint_wins_over_the_general_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1001")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1002")
    clients = Clients()
    assert clients.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:1002"
    assert clients.client("ecs").meta.endpoint_url == "http://127.0.0.1:1001"


def test_an_explicit_endpoint_goes_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1002")
    clients = Clients(endpoint_url="http://127.0.0.1:1003")
    assert clients.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:1003"


def test_retry_mode_and_attempts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    retries = Clients().client("ecs").meta.config.retries
    assert retries == {"mode": "adaptive", "total_max_attempts": 2}


def test_attempts_default_and_are_bounded_below_the_lock_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Clients().client("ecs").meta.config.retries["total_max_attempts"] == DEFAULT_ATTEMPTS
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "50")
    assert Clients().attempts == MAX_ATTEMPTS_LIMIT
    # One call, every attempt timing out plus backoff, stays well inside the lease of the lock it may run under.
    assert retry_budget(MAX_ATTEMPTS_LIMIT) <= LOCK_LEASE_SECONDS * 0.6


@pytest.mark.parametrize(
    ("settings", "code"),
    [({"AWS_RETRY_MODE": "sometimes"}, "InvalidRetryMode"), ({"AWS_MAX_ATTEMPTS": "zero"}, "InvalidMaxAttempts")],
)
def test_bad_retry_settings_name_the_variable(settings: dict[str, str | None], code: str) -> None:
    with pytest.raises(AwsError) as raised:
        retry_settings(settings)
    assert raised.value.code == code
    assert next(iter(settings)) in str(raised.value)


def test_the_profile_retry_settings_apply_when_the_environment_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "config"
    config.write_text("[profile ops]\nregion = eu-west-1\nmax_attempts = 1\nretry_mode = legacy\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)  # the environment wins over the profile, as in every SDK
    clients = Clients(profile="ops")
    assert (clients.region, clients.retry_mode, clients.attempts) == ("eu-west-1", "legacy", 1)


def test_a_missing_profile_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AwsError) as raised:
        Clients()
    assert raised.value.code == "ProfileNotFound"
    assert "no-such-profile" in str(raised.value)


def test_no_region_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AwsError) as raised:
        _ = Clients().region
    assert raised.value.code == "NoRegionError"
    assert "AWS_REGION" in str(raised.value)
    assert "AWS_DEFAULT_REGION" in str(raised.value)


def test_aws_region_alone_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert Clients().region == "eu-west-1"
