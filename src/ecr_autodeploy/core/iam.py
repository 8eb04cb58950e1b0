"""IAM policy documents computed from the rules: the function's role, and every kind `policy` prints.

Least privilege, resource by resource (https://docs.aws.amazon.com/service-authorization/latest/reference/):
  * ``ecs:DescribeServices``/``ecs:UpdateService`` on the long service ARNs the rules name (core.scopes);
  * the Service Deployments API on those services and their service deployments and revisions
    (``service-deployment/CLUSTER/SERVICE/*``, ``service-revision/CLUSTER/SERVICE/*``): List, Describe and
    DescribeServiceRevisions to follow a deployment, StopServiceDeployment only for rules that roll back
    (a native strategy's rollback); ContinueServiceDeployment is the CLI's (``continue``), not the function's;
  * ``ecs:RegisterTaskDefinition`` (and ``ecs:TagResource`` while registering) on the task-definition families
    of the pinned services, ``iam:PassRole`` on their task and execution roles, only to ``ecs-tasks``;
  * ``ecr:DescribeImages``/``ListImages``/``BatchGetImage`` on the repositories the rules match (a glob keeps its
    wildcards, a regex its literal prefix), ``ecr:DescribeRepositories`` on the region's registry (reconcile
    lists it); ``sts:AssumeRole`` on the targets' ``role_arn`` (the ECS calls then
    run as that role);
  * the function's own log group, dead-letter queue and ledger table; the SNS topic, SSM parameters and secret
    that the ``notify:`` settings name.
Families and roles come from the live services (aws.discovery). When they were not looked up
(``TaskAccess.unknown()``), the policy falls back to every family in the target regions and every role of the
account, still only passable to ``ecs-tasks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.console_policy import console_policy
from ecr_autodeploy.core.installer_policy import installer_policy
from ecr_autodeploy.core.policy import ECS_TASKS, Policy, document, statement
from ecr_autodeploy.core.scopes import ServiceScope, repository_patterns, service_arns, service_scopes
from ecr_autodeploy.core.stack import Stack

KINDS = ("execution", "installer", "console")

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = "-??????"
_FULL_SECRET_ARN_RE = re.compile(r".*:secret:.+-[A-Za-z0-9]{6}\Z")
LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
)


@dataclass(frozen=True)
class TaskAccess:
    """What pinning needs: the task-definition families it registers revisions of, and the roles they pass."""

    families: tuple[tuple[str | None, str], ...] = ()  # (region, family); region None: the install region
    roles: tuple[str, ...] = ()
    known: bool = True

    @classmethod
    def unknown(cls) -> TaskAccess:
        """Return the access of services that were not looked up (the policy falls back to wider patterns)."""
        return cls(known=False)


def execution_policy(config: Config, stack: Stack, access: TaskAccess) -> Policy:
    """Return the inline policy of the function's role: exactly what the deploy path calls, on what it calls."""
    site = stack.site
    scopes = service_scopes(config)
    local = [s for s in scopes if s.role_arn is None]
    statements: list[dict[str, Any]] = []
    if local:
        statements.append(
            statement("DeployServices", ["ecs:DescribeServices", "ecs:UpdateService"], service_arns(stack, local))
        )
        # DescribeTaskDefinition has no resource-level permissions.
        statements.append(statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], ["*"]))
        statements.extend(service_deployment_statements(stack, local, rollback=any_rollback(config)))
    pinned_regions = list(dict.fromkeys(s.region for s in local if s.strategy == "pin"))
    if pinned_regions:
        if access.known:
            families = [
                site.arn("ecs", f"task-definition/{family}:*", region=region)
                for region, family in access.families
                if region in pinned_regions
            ]
            roles = list(access.roles)
        else:
            families = [site.arn("ecs", "task-definition/*", region=region) for region in pinned_regions]
            roles = [site.arn("iam", "role/*", region="")]
        if families:
            statements.append(statement("RegisterTaskDefinitions", ["ecs:RegisterTaskDefinition"], families))
            # Registering with tags is authorised as ecs:TagResource too (tag-on-create).
            statements.append(
                statement(
                    "TagNewRevisions",
                    ["ecs:TagResource"],
                    families,
                    {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
                )
            )
        if roles:
            statements.append(
                statement(
                    "PassTaskRoles", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": ECS_TASKS}}
                )
            )
    repositories = [site.arn("ecr", f"repository/{p}") for p in repository_patterns(config)]
    statements.append(
        statement("ReadImages", ["ecr:DescribeImages", "ecr:ListImages", "ecr:BatchGetImage"], repositories)
    )
    # Reconcile and status list the registry's repositories to match globs and regexes: a listing covers all.
    statements.append(statement("ListRepositories", ["ecr:DescribeRepositories"], [site.arn("ecr", "repository/*")]))
    assumed = sorted({s.role_arn for s in scopes if s.role_arn is not None})
    if assumed:
        statements.append(statement("AssumeTargetRoles", ["sts:AssumeRole"], assumed))
    statements.append(statement("Ledger", LEDGER_ACTIONS, [stack.table_arn]))
    statements.extend(notify_statements(config, stack))
    statements.append(
        statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{stack.log_group_arn}:*"])
    )
    statements.append(statement("DeadLetters", ["sqs:SendMessage"], [stack.dlq_arn]))
    return document(statements)


def service_deployment_statements(stack: Stack, scopes: list[ServiceScope], *, rollback: bool) -> list[dict[str, Any]]:
    """Return the Service Deployments grants: follow the services' deployments; stop them when a rule rolls back.

    The authorization reference names both the service and the service deployment (or revision) as resources of
    the Describe calls, so both are granted.
    """
    services = service_arns(stack, scopes)

    def of(kind: str) -> list[str]:
        return list(
            dict.fromkeys(stack.site.arn("ecs", f"{kind}/{s.cluster}/{s.service}/*", region=s.region) for s in scopes)
        )

    found = [
        statement("ListServiceDeployments", ["ecs:ListServiceDeployments"], services),
        statement(
            "DescribeServiceDeployments", ["ecs:DescribeServiceDeployments"], [*services, *of("service-deployment")]
        ),
        statement("DescribeServiceRevisions", ["ecs:DescribeServiceRevisions"], [*services, *of("service-revision")]),
    ]
    if rollback:
        found.append(
            statement("StopServiceDeployments", ["ecs:StopServiceDeployment"], [*services, *of("service-deployment")])
        )
    return found


def any_rollback(config: Config) -> bool:
    """Return True when some rule rolls back (seed mode never does)."""
    return any(rule.rollback for rule in config.rules)


def notify_statements(config: Config, stack: Stack) -> list[dict[str, Any]]:
    """Return the statements the ``notify:`` settings need: publish to the topic, read the stored URLs."""
    settings = config.notify
    if settings is None:
        return []
    found: list[dict[str, Any]] = []
    if settings.sns_topic_arn:
        found.append(statement("NotifyTopic", ["sns:Publish"], [settings.sns_topic_arn]))
    parameters = [
        parameter_arn(stack, name)
        for name in (settings.slack_webhook_ssm_parameter, settings.webhook_url_ssm_parameter)
        if name
    ]
    if parameters:
        found.append(statement("NotifyParameters", ["ssm:GetParameter"], parameters))
    if settings.slack_webhook_secret_id:
        found.append(
            statement(
                "NotifySecret", ["secretsmanager:GetSecretValue"], [secret_arn(stack, settings.slack_webhook_secret_id)]
            )
        )
    return found


def parameter_arn(stack: Stack, name: str) -> str:
    """Return the ARN of an SSM parameter given by name (``/a/b`` or ``a``) or ARN."""
    if name.startswith("arn:"):
        return name
    return stack.site.arn("ssm", f"parameter/{name.removeprefix('/')}")


def secret_arn(stack: Stack, secret_id: str) -> str:
    """Return the ARN pattern of a Secrets Manager secret given by name or ARN (its random suffix as ``??????``)."""
    if _FULL_SECRET_ARN_RE.match(secret_id):
        return secret_id
    if secret_id.startswith("arn:"):
        return secret_id + _SECRET_SUFFIX
    return stack.site.arn("secretsmanager", f"secret:{secret_id}{_SECRET_SUFFIX}")


def policies(config: Config, stack: Stack, access: TaskAccess) -> dict[str, Policy]:
    """Return every policy kind: execution, installer and console."""
    return {
        "execution": execution_policy(config, stack, access),
        "installer": installer_policy(config, stack),
        "console": console_policy(stack),
    }
