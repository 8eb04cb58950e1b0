"""ECR replication on the emulator (moto stores a replication configuration but never replicates).

What ECR does and this glue copies: after a push in a source region, every rule of the registry's replication
configuration (read back with DescribeRegistry) whose filters match the repository (PREFIX_MATCH; no filter
matches every repository) copies the image — same manifest, so the same digest, and its tag — to each
destination, creating the destination repository when it is missing. In each destination ECR emits
``ECR Replication Action`` on the default event bus, in the documented shape; in the source region the push
itself emits ``ECR Image Action`` (PUSH). Images that arrive by replication are not replicated again (ECR does
not chain). Replication is asynchronous: a worker thread does it after the PutImage call has returned.

The glue talks to the emulator through the public API (DescribeRegistry, CreateRepository, PutImage, PutEvents);
only noticing the push is done in-process, by wrapping moto's PutImage of the source regions.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html
https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Sequence
from dataclasses import field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.events import IMAGE_ACTION, REPLICATION_ACTION, repository_arn
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.emulator import ACCOUNT, backend
from ecr_autodeploy.local.events import push_detail, replication_detail

Result = Literal["SUCCESS", "FAILED"]


@frozen
class Pushed:
    """An image that was put into a repository."""

    region: str
    repository: str
    digest: str
    tag: str | None
    manifest: str
    media_type: str | None


@frozen
class Replication:
    """One image copied (or not) to one destination, with the event ECR emits there and its id once published."""

    image: Pushed
    region: str
    registry_id: str
    result: Result
    entry: dict[str, Any] = field(compare=False)
    error: str | None = None
    event_id: str | None = None

    @property
    def event(self) -> dict[str, Any]:
        """Return the event detail as sent."""
        detail: dict[str, Any] = json.loads(self.entry["Detail"])
        return detail


def rule_matches(rule: dict[str, Any], repository: str) -> bool:
    """Return whether a replication rule's repository filters select `repository`."""
    filters = rule.get("repositoryFilters") or []
    if not filters:
        return True
    return any(f.get("filterType") == "PREFIX_MATCH" and repository.startswith(str(f["filter"])) for f in filters)


class Replicator:
    """Replicate pushes in `source_regions` per the registry's configuration and emit ECR's events."""

    def __init__(self, clients: Clients, source_regions: Sequence[str], *, account: str = ACCOUNT) -> None:
        self._clients = clients
        self._sources = tuple(dict.fromkeys(source_regions))
        self._account = account
        self._queue: queue.Queue[Pushed | None] = queue.Queue()
        self._done = threading.Condition()
        self._pending = 0
        self._ours: set[tuple[str, str, str]] = set()
        self._held_keys: set[tuple[str, str | None]] = set()
        self._hooked: list[Any] = []
        self._thread: threading.Thread | None = None
        self.held: list[Replication] = []
        self.replications: list[Replication] = []
        self.errors: list[str] = []

    # ---- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> Replicator:
        """Notice pushes in the source regions and replicate them in a worker thread; return self."""
        for region in self._sources:
            ecr = backend("ecr", region, self._account)
            original = ecr.put_image

            def put_image(*args: Any, _region: str = region, _original: Any = original, **kwargs: Any) -> Any:
                image = _original(*args, **kwargs)
                self._noticed(_region, image)
                return image

            # An instance attribute shadows the class method for this backend only; stop() deletes it.
            ecr.put_image = put_image
            self._hooked.append(ecr)
        self._thread = threading.Thread(target=self._run, name="emulated-ecr-replication", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop noticing pushes and stop the worker; safe to call twice."""
        for ecr in self._hooked:
            vars(ecr).pop("put_image", None)
        self._hooked.clear()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every noticed push is replicated; return False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    # ---- holding events back (a late delivery) ----------------------------------------------------------------

    def hold(self, repository: str, tag: str | None) -> None:
        """Keep the replication events of this image back, as a delayed delivery would; release() sends them."""
        self._held_keys.add((repository, tag))

    def release(self, repository: str, tag: str | None) -> list[Replication]:
        """Publish the held-back events of this image now (with their original time); return them."""
        self._held_keys.discard((repository, tag))
        due = [r for r in self.held if (r.image.repository, r.image.tag) == (repository, tag)]
        self.held = [r for r in self.held if r not in due]
        return [self.publish(r) for r in due]

    # ---- what ECR does ------------------------------------------------------------------------------------

    def _noticed(self, region: str, image: Any) -> None:
        pushed = Pushed(
            region=region,
            repository=str(image.repository_name),
            digest=str(image.get_image_digest()),
            tag=image.image_tag,
            manifest=str(image.image_manifest),
            media_type=image.image_manifest_media_type,
        )
        if (region, pushed.repository, pushed.digest) in self._ours:
            return
        with self._done:
            self._pending += 1
        self._queue.put(pushed)

    def _run(self) -> None:
        while (pushed := self._queue.get()) is not None:
            try:
                self.replicate(pushed)
            except Exception as err:  # noqa: BLE001 - a background thread reports its failure instead of dying silently
                self.errors.append(f"replicating {pushed.repository}@{pushed.digest}: {type(err).__name__}: {err}")
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()

    def replicate(self, pushed: Pushed) -> list[Replication]:
        """Emit the PUSH event, copy the image to every destination the configuration selects; return the copies."""
        self._emit_push(pushed)
        ecr = self._clients.ecr(pushed.region)
        with aws_errors("describing registry", pushed.region):
            registry = ecr.describe_registry()
        config: dict[str, Any] = dict(registry.get("replicationConfiguration", {}))
        done: list[Replication] = []
        seen: set[tuple[str, str]] = set()
        for rule in config.get("rules", []):
            if not rule_matches(dict(rule), pushed.repository):
                continue
            for destination in rule.get("destinations", []):
                where = (str(destination["region"]), str(destination["registryId"]))
                if where in seen or where == (pushed.region, self._account):
                    continue
                seen.add(where)
                copy = self._copy(pushed, *where)
                done.append(copy if (pushed.repository, pushed.tag) in self._held_keys else self.publish(copy))
        for copy in done:
            if copy.event_id is None:
                self.held.append(copy)
        self.replications.extend(done)
        return done

    def _copy(self, pushed: Pushed, region: str, registry_id: str) -> Replication:
        ecr = self._clients.ecr(region)
        put: dict[str, Any] = {"registryId": registry_id, "repositoryName": pushed.repository}
        put["imageManifest"] = pushed.manifest
        if pushed.media_type:
            put["imageManifestMediaType"] = pushed.media_type
        if pushed.tag is not None:
            put["imageTag"] = pushed.tag
        self._ours.add((region, pushed.repository, pushed.digest))
        error = None
        try:
            with (
                aws_errors("creating replicated repository", f"{region}/{pushed.repository}"),
                contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException),
            ):
                ecr.create_repository(registryId=registry_id, repositoryName=pushed.repository)
            with aws_errors("replicating image", f"{region}/{pushed.repository}@{pushed.digest}"):
                self._put_copy(ecr, put, pushed)
        except AwsError as err:
            error = str(err)
        result: Result = "FAILED" if error else "SUCCESS"
        return Replication(pushed, region, registry_id, result, self._entry(pushed, region, registry_id, result), error)

    def _put_copy(self, ecr: Any, put: dict[str, Any], pushed: Pushed) -> None:
        try:
            ecr.put_image(**put)
        except ecr.exceptions.ImageAlreadyExistsException as conflict:
            # Done already when the destination holds this digest with this tag; anything else (an immutable tag
            # on another image) is a failed replication.
            ids = [{"imageDigest": pushed.digest}]
            try:
                found = ecr.describe_images(repositoryName=pushed.repository, imageIds=ids)["imageDetails"]
            except ecr.exceptions.ImageNotFoundException:
                raise conflict from None
            if pushed.tag is not None and pushed.tag not in found[0].get("imageTags", []):
                raise

    def _entry(self, pushed: Pushed, region: str, registry_id: str, result: Result) -> dict[str, Any]:
        detail = replication_detail(
            pushed.repository,
            pushed.digest,
            pushed.tag,
            source_account=self._account,
            source_region=pushed.region,
            result=result,
        )
        return {
            "Time": datetime.now(UTC),
            "Source": "aws.ecr",
            "DetailType": REPLICATION_ACTION,
            "Resources": [repository_arn(registry_id, region, pushed.repository)],
            "Detail": json.dumps(detail),
        }

    def publish(self, replication: Replication) -> Replication:
        """Put the replication event on the destination's default bus; return it with the event id."""
        event_id = self._put(replication.region, replication.entry)
        return replace(replication, event_id=event_id)

    def _emit_push(self, pushed: Pushed) -> None:
        detail = push_detail(pushed.repository, pushed.digest, pushed.tag)
        entry = {"Time": datetime.now(UTC), "Source": "aws.ecr", "DetailType": IMAGE_ACTION, "Resources": []}
        self._put(pushed.region, {**entry, "Detail": json.dumps(detail)})

    def _put(self, region: str, entry: dict[str, Any]) -> str:
        events = self._clients.client("events", region)
        with aws_errors(f"emitting {entry['DetailType']}", region):
            answer = events.put_events(Entries=[entry])
        (first,) = answer["Entries"]
        if answer.get("FailedEntryCount") or "EventId" not in first:
            raise AwsError(f"emitting {entry['DetailType']}", str(first.get("ErrorCode")), str(first), resource=region)
        return str(first["EventId"])
