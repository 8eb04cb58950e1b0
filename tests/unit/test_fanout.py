"""Fan-out batch events: the size setting, the chunks, and a batch event that parses back to what was handed on
(and nothing else: every field is checked as an EventBridge event's is)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError, EventError
from ecr_autodeploy.core.fanout import (
    DEFAULT_BATCH,
    FANOUT_BATCH_ENV,
    MAX_BATCH,
    batch_event,
    batch_size,
    chunks,
    parse_batch,
)
from ecr_autodeploy.core.mapping import map_repository
from ecr_autodeploy.core.routes import route
from ecr_autodeploy.engine.fanout import FanOut
from tests.fakes import image, image_event

EVENT = image_event(image(7, "v1"), "v1")
KEYS = ["us-east-1/shop/api", "210987654321:us-east-1/shop/web"]


def raw() -> dict[str, Any]:
    return batch_event(EVENT, KEYS, 2, 3)


def test_the_batch_size_defaults_and_zero_never_splits() -> None:
    assert batch_size(None) == batch_size("") == DEFAULT_BATCH
    assert batch_size("0") == 0
    assert batch_size(" 25 ") == 25


@pytest.mark.parametrize("value", ["-1", "ten", "2.5", str(MAX_BATCH + 1)])
def test_a_bad_batch_size_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match=FANOUT_BATCH_ENV):
        batch_size(value)


def test_chunks_keep_order_and_size() -> None:
    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunks([1, 2], 5) == [[1, 2]]
    assert chunks([1, 2, 3], 0) == [[1, 2, 3]]


def test_a_batch_event_is_routed_and_parses_back_to_the_same_image_and_services() -> None:
    event = raw()
    assert route(event) == "batch"
    assert event["id"] == f"{EVENT.event_id}/batch-2-of-3"
    batch = parse_batch(event)
    assert batch.event == EVENT
    assert batch.targets == tuple(KEYS)
    assert (batch.index, batch.of, batch.label) == (2, 3, "batch 2 of 3")


def broken(path: str, value: object) -> dict[str, Any]:
    event = copy.deepcopy(raw())
    node = event
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return event


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("detail.image.digest", "sha256:nothex", "detail.image.digest"),
        ("detail.image.kind", "manual", "detail.image.kind"),
        ("detail.image.account", "12", "detail.image.account"),
        ("detail.image.repository", "Shop/API", "detail.image.repository"),
        ("detail.image.repository_arn", "arn:aws:ecr:us-east-1:999999999999:repository/shop/api", "repository_arn"),
        ("detail.image.repository_arn", "arn:aws:ecr:us-east-1:123456789012:repository/other", "repository_arn"),
        ("detail.targets", [], "detail.targets"),
        ("detail.targets", "us-east-1/shop/api", "detail.targets"),
        ("detail.targets", ["us-east-1/shop"], "detail.targets[0]"),
        ("detail.targets", ["x/y/z"] * (MAX_BATCH + 1), "detail.targets"),
        ("detail.batch", 4, "detail.batch"),
        ("detail.batch", True, "detail.batch"),
        ("detail", "nope", "detail"),
    ],
)
def test_a_malformed_batch_is_an_event_error_naming_the_field(path: str, value: object, field: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_batch(broken(path, value))
    assert field in caught.value.field


class _Port:
    """The fan-out port, keeping what it was handed."""

    def __init__(self) -> None:
        self.handed: list[tuple[str, ...]] = []

    def dispatch(self, event: Any) -> str:
        self.handed.append(parse_batch(event).targets)
        return f"request-{len(self.handed)}"


def test_the_targets_of_a_wave_rule_stay_together_and_the_others_are_handed_on() -> None:
    names = [f"s{i}" for i in range(5)]
    waves = {"repository": "shop/api", "max_parallel": 2, "targets": [{"cluster": "prod", "service": n} for n in names]}
    free = {"repository": "shop/api", "targets": [{"cluster": "dev", "service": n} for n in names]}
    config = parse_config({"rules": [waves, free]}, "fan-out rules")
    targets, _ = map_repository(config, "shop/api", EVENT.repository_arn, EVENT.region)
    port = _Port()

    mine, handed = FanOut(port, 3).split(EVENT, targets)

    # Every prod target (the max_parallel rule) stays here, however many; the dev ones fill no room and go on.
    assert [t.key for t in mine] == [t.key for t in targets if t.cluster == "prod"]
    assert sorted(k for batch in port.handed for k in batch) == sorted(
        t.ref.ledger_key for t in targets if t.cluster == "dev"
    )
    assert {o.status for o in handed} == {"dispatched"}
