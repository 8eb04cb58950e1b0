"""The embedded emulator: moto's server on 127.0.0.1, clients only after start, environment isolation, one request
at a time, and ECR's handling of a moved tag."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import EndpointConnectionError
from moto.ecr.models import ECRBackend

from ecr_autodeploy.local.emulator import Emulator, OneAtATime, isolated_environment, patched_environ
from ecr_autodeploy.local.images import manifest


def test_the_emulator_listens_on_loopback_only_and_stops() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="start"):
        emulator.clients("us-east-1")
    with emulator:
        url = urlparse(emulator.endpoint_url)
        assert (url.scheme, url.hostname) == ("http", "127.0.0.1")
        assert url.port
        ecr = emulator.clients("eu-west-1").ecr()
        ecr.create_repository(repositoryName="probe/one")
        assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["probe/one"]
    assert not emulator.running
    emulator.stop()  # twice is fine
    with pytest.raises(EndpointConnectionError):
        ecr.describe_repositories()


def test_isolated_environment_points_every_client_at_the_emulator_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-token")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    before = dict(os.environ)
    with isolated_environment("http://127.0.0.1:1", "eu-central-1"):
        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
        assert os.environ["AWS_REGION"] == "eu-central-1"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert "AWS_PROFILE" not in os.environ
        assert "AWS_SESSION_TOKEN" not in os.environ
    assert dict(os.environ) == before


def test_patched_environ_restores_even_after_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEPT", "1")
    monkeypatch.delenv("ADDED", raising=False)
    with pytest.raises(ValueError, match="boom"), patched_environ({"ADDED": "x", "KEPT": "2"}):
        raise ValueError("boom")
    assert os.environ["KEPT"] == "1"
    assert "ADDED" not in os.environ


def test_an_emulator_starts_empty_whatever_ran_in_the_process_before() -> None:
    with Emulator() as first:
        first.clients("us-east-1").ecr().create_repository(repositoryName="left/behind")
    with Emulator() as second:
        assert second.clients("us-east-1").ecr().describe_repositories()["repositories"] == []


def test_requests_are_answered_one_at_a_time() -> None:
    inside, most = 0, 0
    count = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        time.sleep(0.005)
        with count:
            inside -= 1
        start_response("200 OK", [])
        return [b"done"]

    serial = OneAtATime(app)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda _: serial({}, lambda *a: None), range(16)))
    assert bodies == [[b"done"]] * 16
    assert most == 1


def test_a_moved_tag_leaves_the_old_image_untagged_while_the_emulator_runs() -> None:
    original = ECRBackend.put_image
    with Emulator() as emulator:
        ecr = emulator.clients("us-east-1").ecr()
        ecr.create_repository(repositoryName="probe/tags")
        first = ecr.put_image(repositoryName="probe/tags", imageManifest=manifest("one"), imageTag="latest")
        second = ecr.put_image(repositoryName="probe/tags", imageManifest=manifest("two"), imageTag="latest")
        images = {
            i["imageDigest"]: i.get("imageTags", [])
            for i in ecr.describe_images(repositoryName="probe/tags")["imageDetails"]
        }
        assert images == {
            first["image"]["imageId"]["imageDigest"]: [],
            second["image"]["imageId"]["imageDigest"]: ["latest"],
        }
    assert ECRBackend.put_image is original
