"""Fan-out batches: an image mapped to more services than one invocation should deploy is split across invocations.

One invocation deploys at most ``batch`` services (AUTODEPLOY_FANOUT_BATCH, default 100): at about ten AWS calls
a service, a batch fits well inside the function's timeout and the lock lease. The invocation that receives the
event keeps the first batch and hands every other one to the function itself, asynchronously (aws.fanout), as a
*batch event*:

    {"source": "ecr-autodeploy", "detail-type": "Fan-out batch", "id": "<event id>/batch-2-of-50",
     "detail": {"image": {<the image event's fields>}, "targets": ["us-east-1/shop/api", …], "batch": 2, "of": 50}}

The batch names its services by ledger key only; the invocation that handles it maps the repository through its
own rules again and deploys the named services that the rules still map, so a batch can select among the
rules' targets but never add one. The image is checked against ECR as for any event. Each batch takes its own
locks and claims; a batch that fails is retried by Lambda and then dead-lettered like any event, and a batch
never splits again (one level: no invocation chain can grow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from ecr_autodeploy.core.errors import ConfigError, EventError
from ecr_autodeploy.core.events import DIGEST_RE, EventKind, EventReader, ImageEvent, parse_repository_arn
from ecr_autodeploy.core.routes import BATCH_DETAIL_TYPE
from ecr_autodeploy.core.routes import RECONCILE_SOURCE as BATCH_SOURCE
from ecr_autodeploy.core.values import frozen

FANOUT_BATCH_ENV = "AUTODEPLOY_FANOUT_BATCH"
DEFAULT_BATCH = 100
MAX_BATCH = 1000  # what a batch event may name at most (and what AUTODEPLOY_FANOUT_BATCH may ask for)
# Lambda's limit for an asynchronous invocation's payload (256 KB); a batch of 1000 long keys stays far below it.
ASYNC_PAYLOAD_LIMIT = 256 * 1024
_KINDS: tuple[EventKind, ...] = ("replicate", "push", "cloudtrail", "reconcile")
_KEY_MAX = 600  # account: + region / cluster (255) / service (255)

_T = TypeVar("_T")


@frozen
class Batch:
    """A share of a fan-out: the image event and the services (ledger keys) this invocation deploys."""

    event: ImageEvent
    targets: tuple[str, ...]
    index: int
    of: int

    @property
    def label(self) -> str:
        """Return ``batch 2 of 50``."""
        return f"batch {self.index} of {self.of}"

    @property
    def event_id(self) -> str:
        """Return the batch event's id: the image event's, with the batch (``…/batch-2-of-50``)."""
        return batch_id(self.event.event_id, self.index, self.of)


def batch_id(event_id: str, index: int, of: int) -> str:
    """Return the id of batch `index` of `of` of an event."""
    return f"{event_id}/batch-{index}-of-{of}"


def batch_size(value: str | None) -> int:
    """Return the services one invocation deploys, from AUTODEPLOY_FANOUT_BATCH (0: never split); raise ConfigError."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_BATCH
    if not text.isdigit() or int(text) > MAX_BATCH:
        raise ConfigError(FANOUT_BATCH_ENV, f"{text!r}: a whole number from 0 (never split) to {MAX_BATCH}")
    return int(text)


def chunks(items: Sequence[_T], size: int) -> list[list[_T]]:
    """Return `items` in consecutive chunks of at most `size` (one chunk when size is 0)."""
    if size <= 0 or len(items) <= size:
        return [list(items)]
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def batch_event(event: ImageEvent, keys: Sequence[str], index: int, of: int) -> dict[str, Any]:
    """Return the batch event handing the services `keys` of `event` to another invocation."""
    return {
        "source": BATCH_SOURCE,
        "detail-type": BATCH_DETAIL_TYPE,
        "id": batch_id(event.event_id, index, of),
        "detail": {"image": asdict(event), "targets": list(keys), "batch": index, "of": of},
    }


def parse_batch(raw: object) -> Batch:
    """Return the batch an event carries; raise EventError naming the field that is wrong."""
    if not isinstance(raw, Mapping):
        raise EventError("event", f"expected a JSON object, got {type(raw).__name__}")
    r = EventReader(raw)
    detail = r.obj(raw, "detail", "detail")
    image = r.obj(detail, "image", "detail.image")
    kind = image.get("kind")
    if kind not in _KINDS:
        raise r.fail("detail.image.kind", f"not one of {', '.join(_KINDS)}: {str(kind)[:40]!r}")
    arn = r.text(image, "repository_arn", "detail.image.repository_arn")
    arn_region, arn_account, arn_repository = parse_repository_arn(arn, "detail.image.repository_arn")
    event = ImageEvent(
        kind=kind,
        event_id=r.text(image, "event_id", "detail.image.event_id")[:512],
        time=r.text(image, "time", "detail.image.time")[:64],
        account=r.account(image, "account", "detail.image.account"),
        region=r.region(image, "region", "detail.image.region"),
        repository=r.repository(image, "repository", "detail.image.repository"),
        repository_arn=arn,
        tag=r.tag(image, "tag", "detail.image.tag"),
        digest=r.matching(image, "digest", "detail.image.digest", DIGEST_RE, "a digest (sha256: and 64 hex digits)"),
        source_account=r.optional_account(image, "source_account", "detail.image.source_account"),
        source_region=r.optional_region(image, "source_region", "detail.image.source_region"),
    )
    if (arn_region, arn_account, arn_repository) != (event.region, event.account, event.repository):
        raise r.fail("detail.image.repository_arn", "names another repository, region or account than the image")
    targets = detail.get("targets")
    if not isinstance(targets, list) or not 1 <= len(targets) <= MAX_BATCH:
        raise r.fail("detail.targets", f"expected a list of 1 to {MAX_BATCH} service keys")
    for i, key in enumerate(targets):
        if not isinstance(key, str) or not 0 < len(key) <= _KEY_MAX or key.count("/") != 2:
            raise r.fail(f"detail.targets[{i}]", "not a service key (REGION/CLUSTER/SERVICE)")
    index, of = detail.get("batch"), detail.get("of")
    if not isinstance(index, int) or not isinstance(of, int) or isinstance(index, bool) or not 1 <= index <= of:
        raise r.fail("detail.batch", "expected whole numbers batch and of, 1 <= batch <= of")
    return Batch(event, tuple(dict.fromkeys(targets)), index, of)
