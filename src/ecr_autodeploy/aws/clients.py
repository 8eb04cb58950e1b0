"""The boto3 boundary: one factory that makes clients per region and per assumed role, with standard retries.

Clients are created on first use (never at import) and cached; the same code path talks to AWS or, through
``endpoint_url``, to an emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ecr_autodeploy.core.errors import AwsError, NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient

# Throttling, 5xx and timeouts are retried by botocore's standard mode; what is left after that raises. One call
# with its retries (5 x (5 + 15) s, plus backoff of at most 1 + 2 + 4 + 8 s) stays well under the service lock's
# lease (core/ledger_items.lock_lease), so a lock never lapses under a call still retrying.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=15,
    max_pool_connections=32,
)
ROLE_SESSION_NAME = "ecr-autodeploy"
CREDENTIAL_MARGIN = timedelta(minutes=10)
NOT_FOUND_CODES = frozenset(
    {
        "ServiceNotFoundException",
        "ClusterNotFoundException",
        "RepositoryNotFoundException",
        "ImageNotFoundException",
        "ResourceNotFoundException",
        "NoSuchEntity",
        "ServiceNotActiveException",
    }
)


class Clients:
    """Make and cache boto3 clients per (service, region, role); thread-safe."""

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._session = boto3.session.Session(profile_name=profile, region_name=region)
        self.endpoint_url = endpoint_url
        self._cache: dict[tuple[str, str, str | None], Any] = {}
        self._sessions: dict[str, tuple[boto3.session.Session, datetime]] = {}
        self._lock = threading.Lock()
        # The sts:ExternalId each target role's trust policy requires, by role ARN (from the rules).
        self.external_ids: dict[str, str] = {}

    @property
    def region(self) -> str:
        """Return the default region of the session (AWS_REGION, profile, or --region)."""
        region = self._session.region_name
        if not region:
            raise AwsError("choosing a region", "NoRegion", "set --region, AWS_REGION or a profile region")
        return region

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        """Return a cached boto3 client for `service` in `region`, as `role_arn` when given."""
        key = (service, region or self.region, role_arn)
        with self._lock:
            if role_arn is not None:
                self._drop_if_expiring(role_arn)
            found = self._cache.get(key)
            if found is None:
                session = self._session if role_arn is None else self._assumed(role_arn)
                # botocore refuses some names our region patterns accept (over 63 characters): say which.
                with aws_errors("creating client", f"{service} in {key[1]}"):
                    found = session.client(
                        service,  # type: ignore[call-overload]
                        region_name=key[1],
                        endpoint_url=self.endpoint_url,
                        config=RETRY_CONFIG,
                    )
                self._cache[key] = found
            return found

    def ecs(self, region: str | None = None, role_arn: str | None = None) -> ECSClient:
        """Return an ECS client."""
        client: ECSClient = self.client("ecs", region, role_arn)
        return client

    def ecr(self, region: str | None = None, role_arn: str | None = None) -> ECRClient:
        """Return an ECR client."""
        client: ECRClient = self.client("ecr", region, role_arn)
        return client

    def _drop_if_expiring(self, role_arn: str) -> None:
        # A warm Lambda container outlives the one-hour role session: re-assume before it expires.
        held = self._sessions.get(role_arn)
        if held is not None and datetime.now(UTC) >= held[1] - CREDENTIAL_MARGIN:
            del self._sessions[role_arn]
            for key in [k for k in self._cache if k[2] == role_arn]:
                del self._cache[key]

    def _assumed(self, role_arn: str) -> boto3.session.Session:
        # Called with the lock held.
        held = self._sessions.get(role_arn)
        if held is None:
            sts = self._session.client("sts", endpoint_url=self.endpoint_url, config=RETRY_CONFIG)
            external_id = self.external_ids.get(role_arn)
            with aws_errors("assuming role", role_arn):
                if external_id is None:
                    reply = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)
                else:
                    reply = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME, ExternalId=external_id)
                creds = reply["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=self._session.region_name,
            )
            held = (session, creds["Expiration"])
            self._sessions[role_arn] = held
        return held[0]


@contextmanager
def aws_errors(step: str, resource: str | None = None) -> Iterator[None]:
    """Turn botocore errors raised inside into AwsError / NotFoundError naming the step and resource."""
    try:
        yield
    except ClientError as err:
        error = err.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", str(err)))
        cls = NotFoundError if code in NOT_FOUND_CODES else AwsError
        raise cls(step, code, message, resource=resource) from err
    except BotoCoreError as err:
        raise AwsError(step, type(err).__name__, str(err), resource=resource) from err
    except ResponseParserError:
        # Not a BotoCoreError: a reply botocore could not parse (a truncated or garbled body). Its text quotes
        # the body, which may hold credentials (an STS reply does), so only the kind of failure is kept.
        raise AwsError(
            step, "ResponseParserError", "AWS sent a reply that could not be parsed", resource=resource
        ) from None
