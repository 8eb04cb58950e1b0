"""The IAM steps of the plans, run idempotently: the boundary (bootstrap), the role and its removal (install).

The role is created with the boundary and never rewritten where it matters: an existing role whose trust policy
or boundary differs is an error for an administrator to settle, because the installer may not change either.
Deleting reads the role first, since a boundary-conditioned delete of a role that is gone is AccessDenied on
AWS, not NoSuchEntity.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError

from ecr_autodeploy.core.bootstrap import MAX_VERSIONS
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.installation import Step
from ecr_autodeploy.core.policy_fit import MANAGED_POLICY_LIMIT

# What a step did, and its response and detail: the vocabulary of every step handler (aws.step_runner).
Action = Literal["created", "updated", "unchanged", "done", "deleted", "absent"]
Handled = tuple[Action, Mapping[str, Any], str]
BOOTSTRAP_HINT = "an administrator runs `ecr-autodeploy bootstrap` first"


def check_boundary(client: Any, step: Step, params: dict[str, Any]) -> Handled:
    """Raise AwsError when the boundary does not exist; say whether it holds this install's execution policy."""
    try:
        policy = client.get_policy(PolicyArn=params["PolicyArn"])["Policy"]
    except ClientError as err:
        if _code(err) != "NoSuchEntity":
            raise
        raise AwsError(
            step.step,
            "NoSuchEntity",
            f"no permissions boundary {params['PolicyArn']}: {BOOTSTRAP_HINT}",
            resource=step.resource,
        ) from None
    current = _document(client, params["PolicyArn"], str(policy["DefaultVersionId"]))
    if current == json.loads(params["PolicyDocument"]):
        return "unchanged", {}, "holds this install's execution policy"
    return (
        "unchanged",
        {},
        (
            "differs from this install's execution policy: calls outside it are denied until an administrator "
            "runs `ecr-autodeploy bootstrap` with these rules"
        ),
    )


def create_policy(client: Any, step: Step, params: dict[str, Any]) -> Handled:
    """Create the boundary policy, or add a version when its document changed (deleting the oldest of five)."""
    params = dict(params)
    arn = params.pop("PolicyArn")  # for the reads; CreatePolicy takes the name
    document = params["PolicyDocument"]
    if len(document) > MANAGED_POLICY_LIMIT:
        raise AwsError(
            step.step,
            "LimitExceeded",
            f"the boundary takes {len(document)} characters; a managed policy holds at most {MANAGED_POLICY_LIMIT}",
            resource=step.resource,
        )
    try:
        policy = client.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as err:
        if _code(err) != "NoSuchEntity":
            raise
        return "created", client.create_policy(**params), arn
    if _document(client, arn, str(policy["DefaultVersionId"])) == json.loads(document):
        return "unchanged", {"Policy": policy}, arn
    versions = client.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= MAX_VERSIONS:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
        client.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    version = client.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    return "updated", version, f"{arn} version {version['PolicyVersion']['VersionId']}"


def put_role_permissions_boundary(client: Any, step: Step, params: dict[str, Any]) -> Handled:
    """Put the boundary on the role when the role exists without it (an install from before bootstrap)."""
    try:
        role = client.get_role(RoleName=params["RoleName"])["Role"]
    except ClientError as err:
        if _code(err) != "NoSuchEntity":
            raise
        return "absent", {}, "install creates it inside the boundary"
    if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == params["PermissionsBoundary"]:
        return "unchanged", {}, ""
    return "updated", client.put_role_permissions_boundary(**params), ""


def create_role(client: Any, step: Step, params: dict[str, Any]) -> Handled:
    """Create the role inside its boundary; an existing role must already have that trust policy and boundary."""
    try:
        role = client.get_role(RoleName=params["RoleName"])["Role"]
    except ClientError as err:
        if _code(err) != "NoSuchEntity":
            raise
        return "created", client.create_role(**params), ""
    boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    if boundary != params["PermissionsBoundary"]:
        raise AwsError(
            step.step,
            "BoundaryMissing",
            f"role {params['RoleName']} exists without the permissions boundary {params['PermissionsBoundary']}: "
            "an administrator runs `ecr-autodeploy bootstrap`, which puts it on the role",
            resource=step.resource,
        )
    if _policy(role.get("AssumeRolePolicyDocument")) != json.loads(params["AssumeRolePolicyDocument"]):
        raise AwsError(
            step.step,
            "TrustPolicyDiffers",
            f"role {params['RoleName']} trusts something other than Lambda: an administrator restores its trust "
            "policy (install never rewrites it)",
            resource=step.resource,
        )
    return "unchanged", {}, ""


def delete_role_part(client: Any, step: Step, params: dict[str, Any]) -> Handled:
    """Delete the role's policy or the role itself; "absent" when the role is already gone."""
    try:
        client.get_role(RoleName=params["RoleName"])
    except ClientError as err:
        if _code(err) != "NoSuchEntity":
            raise
        return "absent", {}, ""
    try:
        return "deleted", getattr(client, step.operation)(**params), ""
    except ClientError as err:
        if _code(err) == "NoSuchEntity":
            return "absent", {}, ""
        raise


def _document(client: Any, arn: str, version: str) -> Any:
    found = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return _policy(found)


def _policy(document: Any) -> Any:
    """Return a policy document IAM returned (a dict, or URL-encoded JSON text) as data."""
    if isinstance(document, str):
        return json.loads(urllib.parse.unquote(document))
    return document


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
