"""The one place errors become ``Error: <message>`` and an exit code, with what to do about the common ones.

A project error exits 1; a usage error exits 2 (click); Ctrl-C exits 130 without a traceback. SDK errors
(no profile, no region, no credentials, no connection, expired tokens) are one line that says what to do.
"""

from __future__ import annotations

from ecr_autodeploy.core.errors import AutodeployError, AwsError

INTERRUPTED = 130  # 128 + SIGINT, as shells report it
REGION_HINT = "pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a region in the profile)"
CREDENTIALS_HINT = (
    "no AWS credentials found: run `aws configure` or `aws sso login`, pass --profile (or set AWS_PROFILE), or set "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
EXPIRED_HINT = "the AWS session token has expired: refresh the credentials (`aws sso login`, or new keys)"
HINTS = {
    "NoRegionError": f"no AWS region: {REGION_HINT}",
    "NoCredentialsError": CREDENTIALS_HINT,
    "PartialCredentialsError": f"incomplete AWS credentials: {CREDENTIALS_HINT}",
    "UnauthorizedSSOTokenError": "the SSO session has expired: run `aws sso login` (with the same --profile)",
    "SSOTokenLoadError": "no SSO session: run `aws sso login` (with the same --profile)",
    "TokenRetrievalError": "the SSO token could not be refreshed: run `aws sso login` (with the same --profile)",
    "ExpiredToken": EXPIRED_HINT,
    "ExpiredTokenException": EXPIRED_HINT,
    "UnrecognizedClientException": "the AWS credentials are not valid for this account or region: check them",
    "InvalidClientTokenId": "the AWS access key is not valid: check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID)",
}


def message(err: BaseException) -> str:
    """Return the one line to print after ``Error: `` for an error."""
    if isinstance(err, AwsError):
        return _aws(err)
    if isinstance(err, AutodeployError):
        return str(err)
    return _botocore(err)


def _aws(err: AwsError) -> str:
    text = str(err)
    if err.code == "ProfileNotFound":
        profile = (err.resource or "").removeprefix("profile ") or "?"
        return (
            f"AWS profile {profile!r} not found: check --profile / AWS_PROFILE, or create it with "
            f"`aws configure --profile {profile}` (profiles live in ~/.aws/config, or AWS_CONFIG_FILE)"
        )
    if err.code == "EndpointConnectionError" or err.code in ("ConnectTimeoutError", "ConnectionClosedError"):
        detail = text.split(f"{err.code}: ", 1)[-1]
        return (
            f"cannot reach AWS ({detail}) while {err.step}: check the network, the region (--region), and "
            "--endpoint-url / AWS_ENDPOINT_URL if an emulator is meant"
        )
    hint = HINTS.get(err.code)
    if hint is None:
        return text
    return f"{hint} (while {err.step})" if err.code != "NoRegionError" else hint


def _botocore(err: BaseException) -> str:
    """Return the line for a botocore error raised outside an adapter (creating a session, for one)."""
    code = type(err).__name__
    return _aws(AwsError("calling AWS", code, str(err)))
