"""ECR adapter: what the deploy path reads from a registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.planning import ImageInfo

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


class Registry:
    """Read images from ECR in any region of the caller's account (or a registry id)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def _client(self, region: str) -> ECRClient:
        return self._clients.ecr(region)

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        """Return the images with these digests; raise NotFoundError when the first digest is not there.

        Other digests (images a service runs now) may have been deleted since: they are left out.
        """
        client = self._client(region)
        resource = f"{repository}@{digests[0]}"
        ids: list[Any] = [{"imageDigest": d} for d in dict.fromkeys(digests)]
        try:
            with aws_errors("describing image", resource):
                found = client.describe_images(registryId=registry_id, repositoryName=repository, imageIds=ids)
        except NotFoundError as err:
            if err.code != "ImageNotFoundException" or len(ids) == 1:
                raise
            # DescribeImages fails whole when one id is missing; ask again for the arrived image alone.
            with aws_errors("describing image", resource):
                found = client.describe_images(registryId=registry_id, repositoryName=repository, imageIds=ids[:1])
        result = {d["imageDigest"]: _info(d, repository) for d in found.get("imageDetails", [])}
        if digests[0] not in result:
            raise NotFoundError(
                "describing image", "ImageNotFoundException", "not in the repository", resource=resource
            )
        return result

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        """Return the image a tag points at now."""
        client = self._client(region)
        with aws_errors("describing image", f"{repository}:{tag}"):
            found = client.describe_images(
                registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}]
            )
        return _info(found["imageDetails"][0], repository)

    def newest(
        self, region: str, registry_id: str, repository: str, allowed: Callable[[ImageInfo], bool]
    ) -> ImageInfo | None:
        """Return the newest image by push time that `allowed` accepts, or None."""
        client = self._client(region)
        best: ImageInfo | None = None
        with aws_errors("listing images", repository):
            for page in client.get_paginator("describe_images").paginate(
                registryId=registry_id, repositoryName=repository
            ):
                for detail in page.get("imageDetails", []):
                    info = _info(detail, repository)
                    if not allowed(info):
                        continue
                    if best is None or _pushed_key(info) > _pushed_key(best):
                        best = info
        return best


def _pushed_key(info: ImageInfo) -> float:
    return info.pushed_at.timestamp() if info.pushed_at else 0.0


def _info(detail: Any, repository: str) -> ImageInfo:
    return ImageInfo(
        repository=repository,
        registry_id=str(detail.get("registryId", "")),
        digest=str(detail["imageDigest"]),
        tags=tuple(detail.get("imageTags", ())),
        pushed_at=detail.get("imagePushedAt"),
        media_type=detail.get("imageManifestMediaType"),
    )
