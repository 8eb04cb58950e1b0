"""A tag moved to a new image leaves the old image untagged, as ECR does (moto deletes the old image).

ECR's PutImage with a tag another image holds moves the tag; the image it leaves keeps its digest and stays in the
repository, untagged, until someone (or a lifecycle policy) deletes it. moto removes that image, so a service
still running it would look as if it ran an image ECR no longer has. The emulator patches moto's PutImage for as
long as it runs (``keep_untagged``), in every region.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.Lock()
_USERS = 0
_ORIGINAL: Callable[..., Any] | None = None


def keep_untagged() -> None:
    """Make moto's PutImage keep the image a tag moves from, untagged (until as many `release()` calls)."""
    global _USERS, _ORIGINAL
    from moto.ecr.models import ECRBackend

    with _LOCK:
        _USERS += 1
        if _ORIGINAL is None:
            original = ECRBackend.put_image
            _ORIGINAL = original

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

            ECRBackend.put_image = put_image  # type: ignore[method-assign]


def release() -> None:
    """Undo one `keep_untagged()`; the last one gives PutImage back to moto."""
    global _USERS, _ORIGINAL
    from moto.ecr.models import ECRBackend

    with _LOCK:
        _USERS = max(0, _USERS - 1)
        if _USERS == 0 and _ORIGINAL is not None:
            ECRBackend.put_image = _ORIGINAL  # type: ignore[method-assign]
            _ORIGINAL = None
