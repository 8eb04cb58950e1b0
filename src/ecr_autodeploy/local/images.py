"""Make image manifests for the emulator: ECR stores a manifest and derives the digest from it.

Used by the demo and by the tests; no registry blobs exist behind these manifests (none are needed: ECS on the
emulator never pulls).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _blob(seed: str, kind: str) -> str:
    return "sha256:" + hashlib.sha256(f"{kind}:{seed}".encode()).hexdigest()


def manifest(seed: str, media_type: str = DOCKER_MANIFEST, annotations: Mapping[str, str] | None = None) -> str:
    """Return a single-platform image manifest whose digest is unique to `seed` (and its annotations)."""
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1469,
            "digest": _blob(seed, "config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 3370706,
                "digest": _blob(seed, "layer"),
            }
        ],
    }
    if annotations:
        body["annotations"] = dict(annotations)
    return json.dumps(body, sort_keys=True)


def index(seed: str, platforms: dict[str, str]) -> str:
    """Return a multi-architecture image index over platform manifests given as {"amd64": digest, ...}."""
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "size": 1000,
                "digest": digest,
                "platform": {"architecture": arch, "os": "linux"},
            }
            for arch, digest in sorted(platforms.items())
        ],
        "annotations": {"seed": seed},
    }
    return json.dumps(body, sort_keys=True)
