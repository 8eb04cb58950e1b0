"""ECR listings for status and reconcile: every repository of the registry, every image of a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.drift import RepositoryRef
from ecr_autodeploy.core.planning import ImageInfo

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

PAGE_SIZE = 1000  # DescribeRepositories and DescribeImages return at most 1000 per page


class Inventory:
    """List repositories and images in one region of the caller's registry."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def _client(self, region: str) -> ECRClient:
        return self._clients.ecr(region)

    def repositories(self, region: str) -> list[RepositoryRef]:
        """Return every repository of the registry in `region`."""
        found: list[RepositoryRef] = []
        with aws_errors("listing repositories", region):
            for page in (
                self._client(region)
                .get_paginator("describe_repositories")
                .paginate(PaginationConfig={"PageSize": PAGE_SIZE})
            ):
                for repo in page.get("repositories", []):
                    found.append(
                        RepositoryRef(str(repo["repositoryName"]), str(repo["repositoryArn"]), str(repo["registryId"]))
                    )
        return found

    def images(self, region: str, registry_id: str, repository: str) -> list[ImageInfo]:
        """Return every image of a repository (one listing serves every rule and service using it)."""
        found: list[ImageInfo] = []
        with aws_errors("listing images", repository):
            for page in (
                self._client(region)
                .get_paginator("describe_images")
                .paginate(registryId=registry_id, repositoryName=repository, PaginationConfig={"PageSize": PAGE_SIZE})
            ):
                found.extend(image_info(detail, repository) for detail in page.get("imageDetails", []))
        return found


def image_info(detail: Any, repository: str) -> ImageInfo:
    """Return the ImageInfo of a DescribeImages entry."""
    return ImageInfo(
        repository=repository,
        registry_id=str(detail.get("registryId", "")),
        digest=str(detail["imageDigest"]),
        tags=tuple(detail.get("imageTags", ())),
        pushed_at=detail.get("imagePushedAt"),
        media_type=detail.get("imageManifestMediaType"),
    )
