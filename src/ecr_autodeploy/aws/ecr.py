"""ECR adapter: images by digest or tag, a repository's whole listing, and the registry's repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.model import ImageInfo, RepositoryRef

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

PAGE_SIZE = 1000  # DescribeRepositories and DescribeImages return at most 1000 per page
IMAGE_IDS_PER_CALL = 100  # DescribeImages takes at most 100 imageIds


class Registry:
    """Read images from ECR in any region of the caller's account (or a registry id)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def _client(self, region: str) -> ECRClient:
        return self._clients.ecr(region)

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        """Return the images with these digests; raise NotFoundError when the first digest is not there.

        Other digests (images a service runs now) may have been deleted since: they are left out. DescribeImages
        takes at most 100 ids a call, so more are asked for in chunks.
        """
        client = self._client(region)
        resource = f"{repository}@{digests[0]}"
        wanted = list(dict.fromkeys(digests))
        result: dict[str, ImageInfo] = {}
        for start in range(0, len(wanted), IMAGE_IDS_PER_CALL):
            chunk: list[Any] = [{"imageDigest": d} for d in wanted[start : start + IMAGE_IDS_PER_CALL]]
            try:
                with aws_errors("describing image", resource):
                    found = client.describe_images(registryId=registry_id, repositoryName=repository, imageIds=chunk)
            except NotFoundError as err:
                if err.code != "ImageNotFoundException" or start > 0 or len(chunk) == 1:
                    if start > 0 and err.code == "ImageNotFoundException":
                        continue  # images the services ran that are gone since: nothing to compare with
                    raise
                # DescribeImages fails whole when one id is missing; ask again for the arrived image alone.
                with aws_errors("describing image", resource):
                    found = client.describe_images(
                        registryId=registry_id, repositoryName=repository, imageIds=chunk[:1]
                    )
            result.update((d["imageDigest"], image_info(d, repository)) for d in found.get("imageDetails", []))
        if digests[0] not in result:
            raise NotFoundError(
                "describing image", "ImageNotFoundException", "not in the repository", resource=resource
            )
        return result

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        """Return the image a tag points at now."""
        with aws_errors("describing image", f"{repository}:{tag}"):
            found = self._client(region).describe_images(
                registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}]
            )
        return image_info(found["imageDetails"][0], repository)

    def listing(self, region: str, registry_id: str, repository: str, *, tagged: bool = False) -> list[ImageInfo]:
        """Return every image of a repository (only tagged ones with `tagged`), 1,000 a page.

        One listing serves every rule and service using the repository.
        """
        found: list[ImageInfo] = []
        params: dict[str, Any] = {"registryId": registry_id, "repositoryName": repository}
        if tagged:
            params["filter"] = {"tagStatus": "TAGGED"}
        with aws_errors("listing images", repository):
            for page in (
                self._client(region)
                .get_paginator("describe_images")
                .paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE})
            ):
                found.extend(image_info(detail, repository) for detail in page.get("imageDetails", []))
        return found

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
