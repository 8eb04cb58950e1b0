"""Container image references: ``HOST/REPO:TAG`` or ``HOST/REPO@sha256:…``, and which containers use a repository."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_ECR_IMAGE_RE = re.compile(r"^(?P<host>\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/(?P<rest>.+)$")


def split_image(image: str) -> tuple[str | None, str, str | None, str | None]:
    """Return (ECR registry host or None, repository, tag, digest) of a container image reference."""
    match = _ECR_IMAGE_RE.match(image)
    host, rest = (match.group("host"), match.group("rest")) if match else (None, image)
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = None
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
    return host, rest, tag, digest


def containers_using(task_definition: Mapping[str, Any], repository: str) -> list[str]:
    """Return the names of the containers whose image is an ECR image of `repository`."""
    names = []
    for container in task_definition.get("containerDefinitions", []):
        host, repo, _, _ = split_image(str(container.get("image", "")))
        if host is not None and repo == repository:
            names.append(str(container["name"]))
    return names


def pinned_digests(task_definition: Mapping[str, Any], containers: Sequence[str]) -> dict[str, str | None]:
    """Return, for each named container, the digest its image is pinned to (None for a tag)."""
    result: dict[str, str | None] = {}
    for container in task_definition.get("containerDefinitions", []):
        if container.get("name") in containers:
            result[str(container["name"])] = split_image(str(container.get("image", "")))[3]
    return result


def running_digests(task_definitions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return every digest the containers of these task definitions are pinned to, each once, in order."""
    digests: dict[str, None] = {}
    for body in task_definitions:
        for container in body.get("containerDefinitions", []):
            digest = split_image(str(container.get("image", "")))[3]
            if digest:
                digests[digest] = None
    return list(digests)
