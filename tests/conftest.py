"""Test-wide safety: fake credentials, no profile, no endpoint from the developer's shell."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from hypothesis import settings
from moto.core.botocore_stubber import BotocoreStubber

# Hypothesis: CI runs are repeatable (derandomized, a fixed number of examples, no deadline on a busy machine);
# HYPOTHESIS_PROFILE=dev searches longer, with fresh randomness, when hunting for new failures.
settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# AWS applies each request atomically; moto's in-process backends do not guard their state against threads (a
# TransactWriteItems deep-copies a table while another thread's PutItem changes it). The engine calls AWS from
# several threads at once, so requests to the in-process emulator are answered one at a time, as its server does.
_ONE_AT_A_TIME = threading.RLock()
_answer = BotocoreStubber.__call__


def _answer_alone(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    with _ONE_AT_A_TIME:
        return _answer(self, event_name, request, **kwargs)


BotocoreStubber.__call__ = _answer_alone  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader() -> Iterator[None]:
    """Share one botocore data loader among the sessions of the test process.

    Each test wires its own Clients, so its own boto3 Session, and each new Session parses botocore's service
    models again (about half of a functional test's time). A Lambda container does that once; so does a test
    process with one loader. The parsed models are read-only, as they are for the clients of one Session.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", functools.cache(botocore.session.create_loader))
        yield


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AUTODEPLOY_CONFIG",
        "ECR_SERVICE_REGEX",
        "ECR_CLUSTER_REGEX",
        "AUTODEPLOY_STRATEGY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
