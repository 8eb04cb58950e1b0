"""The boto3 boundary: one factory that makes clients per region and per assumed role, with bounded retries.

Clients are created on first use (never at import) and cached; the same code path talks to AWS or, through
``endpoint_url``, to an emulator. The SDK's own settings are honoured: ``AWS_PROFILE``, ``AWS_ENDPOINT_URL_<SERVICE>``
over ``AWS_ENDPOINT_URL`` (botocore resolves both when no endpoint is passed explicitly), ``AWS_RETRY_MODE`` and
``AWS_MAX_ATTEMPTS`` (or the profile's ``retry_mode`` / ``max_attempts``).

The retry budget is bounded: a call made while a service's lock is held (its lease outlives the function's timeout,
core/ledger_items.lock_lease) should give up long before the invocation's own time runs out, so the failure is
reported and retried instead of the invocation being killed mid-deploy. With 2 s to connect, 8 s to read and
3 attempts, one call takes at most about 33 s including backoff; ``AWS_MAX_ATTEMPTS`` may lower the attempts but
never raise them above MAX_ATTEMPTS_LIMIT.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
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

# Throttling, 5xx and timeouts are retried by botocore's standard mode; what is left after that raises.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 8
DEFAULT_ATTEMPTS = 3  # total attempts of one call, the first included (AWS_MAX_ATTEMPTS counts the same way)
MAX_ATTEMPTS_LIMIT = 3  # what AWS_MAX_ATTEMPTS may ask for at most: keeps a call under a lock well inside its lease
RETRY_MODES = ("standard", "adaptive", "legacy")
MAX_BACKOFF_S = 20  # botocore's cap on one retry's backoff
ENV_MAX_ATTEMPTS = "AWS_MAX_ATTEMPTS"
ENV_RETRY_MODE = "AWS_RETRY_MODE"
MAX_POOL_CONNECTIONS = 32


def retry_settings(settings: Mapping[str, str | None]) -> tuple[str, int]:
    """Return (retry mode, total attempts) from AWS_RETRY_MODE / AWS_MAX_ATTEMPTS values, bounded; raise AwsError."""
    mode = (settings.get(ENV_RETRY_MODE) or "standard").strip().lower()
    if mode not in RETRY_MODES:
        raise AwsError(
            "reading retry settings", "InvalidRetryMode", f"{ENV_RETRY_MODE}={mode!r}: use {', '.join(RETRY_MODES)}"
        )
    text = (settings.get(ENV_MAX_ATTEMPTS) or "").strip()
    if not text:
        return mode, DEFAULT_ATTEMPTS
    if not text.isdigit() or int(text) < 1:
        raise AwsError(
            "reading retry settings", "InvalidMaxAttempts", f"{ENV_MAX_ATTEMPTS}={text!r}: a whole number, 1 or more"
        )
    return mode, min(int(text), MAX_ATTEMPTS_LIMIT)


def retry_config(mode: str = "standard", attempts: int = DEFAULT_ATTEMPTS) -> Config:
    """Return the botocore Config of every client: bounded timeouts and retries, one connection per worker."""
    retries: Any = {"mode": mode, "total_max_attempts": attempts}
    return Config(
        retries=retries,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


def retry_budget(attempts: int = DEFAULT_ATTEMPTS) -> float:
    """Return the longest one call can take, in seconds: every attempt timing out, plus the backoff between them."""
    backoff = sum(min(MAX_BACKOFF_S, 2**n) for n in range(attempts - 1))
    return float(attempts * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + backoff)


RETRY_CONFIG = retry_config()
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
        with aws_errors("opening the AWS session", f"profile {profile}" if profile else None):
            # AWS_REGION is what Lambda and most SDKs set; boto3 itself reads only AWS_DEFAULT_REGION.
            self._session = boto3.session.Session(
                profile_name=profile, region_name=region or os.environ.get("AWS_REGION") or None
            )
        # None lets botocore resolve AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the profile's.
        self.endpoint_url = endpoint_url
        self.retry_mode, self.attempts = retry_settings(self._profile_settings())
        self._config = retry_config(self.retry_mode, self.attempts)
        self._cache: dict[tuple[str, str, str | None], Any] = {}
        self._sessions: dict[str, tuple[boto3.session.Session, datetime]] = {}
        self._lock = threading.Lock()
        # The sts:ExternalId each target role's trust policy requires, by role ARN (from the rules).
        self.external_ids: dict[str, str] = {}

    def _profile_settings(self) -> dict[str, str | None]:
        """Return the retry settings the environment or the profile gives (the environment wins)."""
        found: dict[str, str | None] = {}
        for env, variable in ((ENV_RETRY_MODE, "retry_mode"), (ENV_MAX_ATTEMPTS, "max_attempts")):
            value = os.environ.get(env)
            if value is None:
                with aws_errors("reading the profile", variable):
                    configured = self._session._session.get_config_variable(variable)
                value = None if configured is None else str(configured)
            found[env] = value
        return found

    @property
    def region(self) -> str:
        """Return the default region of the session (AWS_REGION, profile, or --region)."""
        region = self._session.region_name
        if not region:
            raise AwsError(
                "choosing a region",
                "NoRegionError",
                "no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION), or a region in the profile",
            )
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
                        config=self._config,
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
            sts = self._session.client("sts", endpoint_url=self.endpoint_url, config=self._config)
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
