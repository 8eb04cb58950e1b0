"""A tag moved to a new image leaves the old image untagged, as ECR does (moto deletes the old image).

ECR's PutImage with a tag another image holds moves the tag; the image it leaves keeps its digest and stays in the
repository, untagged, until someone (or a lifecycle policy) deletes it. moto removes that image, so a service
still running it would look as if it ran an image ECR no longer has. The emulator patches moto's PutImage while
it runs, in every region.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def patch() -> Callable[[], None]:
    """Make moto's PutImage keep the image a tag moves from, untagged; return the undo."""
    from moto.ecr.models import ECRBackend

    backend: Any = ECRBackend
    original = backend.put_image

    def put_image(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        repository = self.repositories.get(repository_name)
        before = list(repository.images) if repository is not None else []
        image = original(self, repository_name, *args, **kwargs)
        if repository is not None:
            present = {id(i) for i in repository.images}
            for dropped in (i for i in before if id(i) not in present):
                dropped.image_tags = []
                dropped.image_tag = None
                repository.images.append(dropped)
        return image

    backend.put_image = put_image

    def unpatch() -> None:
        backend.put_image = original

    return unpatch
