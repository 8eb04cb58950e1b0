"""The bootstrap plan: what an administrator creates once so that installing needs no way up in IAM.

`ecr-autodeploy bootstrap` writes the permissions boundary of the function's role: a managed policy
``NAME-boundary`` holding the execution policy computed from the rules (core.iam). A platform engineer with only
the installer policy can then create and rewrite the role, but only inside that boundary, so the function can
never do more than the rules the administrator bootstrapped with. Run it again when the rules reach new services
(it adds a policy version when the document changed, and changes nothing otherwise). It also puts the boundary
on a role an earlier install created without one. Uninstall never removes the boundary.
"""

from __future__ import annotations

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.iam import TaskAccess, boundary_policy
from ecr_autodeploy.core.installation import Step, as_json
from ecr_autodeploy.core.stack import Stack

MAX_VERSIONS = 5  # IAM keeps at most five versions of a managed policy


def boundary_description(stack: Stack) -> str:
    """Return the description of the boundary policy."""
    return f"ecr-autodeploy: the most the {stack.function_name} function's role may ever do (bootstrap)"


def bootstrap_steps(stack: Stack, config: Config, access: TaskAccess) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """Return the bootstrap plan (write the boundary policy, then put it on an existing role that lacks it) and
    notes on what was folded to fit a managed policy (core.policy_fit)."""
    boundary, notes = boundary_policy(config, stack, access)
    steps = (
        Step(
            "writing permissions boundary",
            stack.boundary_name,
            "iam",
            "create_policy",
            {
                "PolicyArn": stack.boundary_arn,
                "PolicyName": stack.boundary_name,
                "PolicyDocument": as_json(boundary),
                "Description": boundary_description(stack),
            },
        ),
        Step(
            "setting the boundary on the role",
            stack.role_name,
            "iam",
            "put_role_permissions_boundary",
            {"RoleName": stack.role_name, "PermissionsBoundary": stack.boundary_arn},
        ),
    )
    return steps, notes
