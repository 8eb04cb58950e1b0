"""IAM policy documents computed from the rules: the function's role, the installer, and the console.

Least privilege, resource by resource (https://docs.aws.amazon.com/service-authorization/latest/reference/):
  * ``ecs:DescribeServices``/``ecs:UpdateService`` on the long service ARNs the rules name; a ``{template}``
    becomes ``*`` in its place, seed mode (regexes on the repository ARN) can name any service: ``service/*/*``;
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
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ecr_autodeploy.core.config import REGEX_PREFIX, Config, Strategy, is_glob
from ecr_autodeploy.core.stack import Stack

VERSION = "2012-10-17"
ECS_TASKS = "ecs-tasks.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
EVENTS = "events.amazonaws.com"
KINDS = ("execution", "installer", "console")

Policy = dict[str, Any]

# Characters that are literal in a regex and may appear in a repository name, and escapes that stand for one.
_REGEX_LITERALS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/_-")
_REGEX_ESCAPED_LITERALS = frozenset("./_-")
_OPTIONAL_OR_REPEATED = ("?", "*", "{")
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
class ServiceScope:
    """The services one rule target can reach: names, or IAM patterns where the rule has templates."""

    region: str | None  # None: the install region, where the events arrive
    cluster: str
    service: str
    role_arn: str | None
    strategy: Strategy

    def where(self, install_region: str) -> str:
        """Return the region of the services, given the install region."""
        return self.region or install_region

    @property
    def exact(self) -> bool:
        """Return whether cluster and service are plain names (no wildcard)."""
        return "*" not in self.cluster and "*" not in self.service


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


def service_scopes(config: Config) -> tuple[ServiceScope, ...]:
    """Return the service scopes of every rule target, in the order of the rules."""
    if config.seed is not None and not config.rules:
        return (ServiceScope(None, "*", "*", None, config.seed.strategy),)
    scopes: dict[ServiceScope, None] = {}
    for rule in config.rules:
        for target in rule.targets:
            scope = ServiceScope(
                target.region,
                name_pattern(target.cluster),
                name_pattern(target.service),
                target.role_arn,
                rule.strategy,
            )
            scopes[scope] = None
    return tuple(scopes)


def name_pattern(template: str) -> str:
    """Return the IAM pattern of a name template: each ``{variable}`` becomes ``*``."""
    parts: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append("*")
    pattern = "".join(parts)
    while "**" in pattern:
        pattern = pattern.replace("**", "*")
    return pattern


def repository_patterns(config: Config) -> tuple[str, ...]:
    """Return the IAM patterns of the repositories the rules match (``*`` in seed mode)."""
    if not config.rules:
        return ("*",)
    return tuple(sorted({repository_pattern(rule.repository) for rule in config.rules}))


def repository_pattern(repository: str) -> str:
    """Return the IAM pattern of a rule's repository: the name, the glob in IAM wildcards, or a regex's prefix."""
    if repository.startswith(REGEX_PREFIX):
        return regex_prefix(repository[len(REGEX_PREFIX) :]) + "*"
    if is_glob(repository):
        return glob_pattern(repository)
    return repository


def glob_pattern(glob: str) -> str:
    """Return an fnmatch glob in IAM wildcards: ``*`` and ``?`` stay, a ``[...]`` class becomes ``?``."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        ch = glob[i]
        if ch == "[":
            j = i + 1
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j < n:
                out.append("?")
                i = j + 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def regex_prefix(regex: str) -> str:
    """Return literal text every full match of `regex` starts with ("" when nothing can be relied on)."""
    if _top_level_alternation(regex):
        return ""
    body = regex.removeprefix("^")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in _REGEX_ESCAPED_LITERALS:
            literal, step = body[i + 1], 2
        elif ch in _REGEX_LITERALS:
            literal, step = ch, 1
        else:
            break
        following = body[i + step : i + step + 1]
        if following in _OPTIONAL_OR_REPEATED:
            break  # this character may be absent (or, with {m,n}, counted): stop before it
        out.append(literal)
        if following == "+":
            break  # present at least once, but its repetitions are not literal text
        i += step
    return "".join(out)


def _top_level_alternation(regex: str) -> bool:
    depth, i, n = 0, 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            # Skip the character class; "]" first in it (or after "^") is a literal.
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":
                i += 1
            while i < n and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


# ---- policy documents ---------------------------------------------------------------------------------------------


def statement(
    sid: str, actions: Iterable[str], resources: Iterable[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return an Allow statement with sorted actions and de-duplicated resources (in the order given).

    Resources are not sorted: the template's pseudo parameters would sort differently from real values.
    """
    found: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": list(dict.fromkeys(resources)),
    }
    if condition:
        found["Condition"] = condition
    return found


def document(statements: Sequence[dict[str, Any]]) -> Policy:
    """Return a policy document holding `statements`."""
    return {"Version": VERSION, "Statement": list(statements)}


def service_arns(stack: Stack, scopes: Iterable[ServiceScope]) -> list[str]:
    """Return the long-form service ARNs (or patterns) of the scopes, in the install account."""
    return list(
        dict.fromkeys(stack.site.arn("ecs", f"service/{s.cluster}/{s.service}", region=s.region) for s in scopes)
    )


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


def installer_policy(config: Config, stack: Stack) -> Policy:
    """Return the policy for running `install`/`uninstall` from the CLI: every call they make, on what they make it."""
    scopes = service_scopes(config)
    pinned = [s for s in scopes if s.role_arn is None and s.strategy == "pin"]
    rules = [stack.rule_arn(rule) for rule in stack.rule_names]
    statements = [
        # The original design's narrow events:PutRule/PutTargets, on this install's rules only.
        statement(
            "Rules",
            [
                "events:PutRule",
                "events:PutTargets",
                "events:DescribeRule",
                "events:ListTargetsByRule",
                "events:RemoveTargets",
                "events:DeleteRule",
            ],
            rules,
        ),
        statement(
            "Function",
            [
                "lambda:GetFunction",
                "lambda:CreateFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:GetPolicy",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:PublishVersion",
                "lambda:GetAlias",
                "lambda:CreateAlias",
                "lambda:UpdateAlias",
                "lambda:DeleteFunction",
            ],
            [stack.function_arn, f"{stack.function_arn}:*"],
        ),
        statement(
            "ExecutionRole",
            [
                "iam:GetRole",
                "iam:CreateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DeleteRole",
            ],
            [stack.role_arn],
        ),
        statement(
            "PassExecutionRole", ["iam:PassRole"], [stack.role_arn], {"StringEquals": {"iam:PassedToService": LAMBDA}}
        ),
        statement(
            "DeadLetterQueues",
            [
                "sqs:GetQueueUrl",
                "sqs:CreateQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:DeleteQueue",
            ],
            [stack.dlq_arn, stack.target_dlq_arn],
        ),
        statement(
            "LedgerTable",
            [
                "dynamodb:CreateTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:DeleteTable",
            ],
            [stack.table_arn],
        ),
        statement(
            "LogGroup",
            ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"],
            [stack.log_group_arn, f"{stack.log_group_arn}:*"],
        ),
    ]
    if pinned:
        # install reads the pinned services' task definitions to scope RegisterTaskDefinition and PassRole.
        statements.append(statement("FindTaskRoles", ["ecs:DescribeServices"], service_arns(stack, pinned)))
        lists = ["ecs:ListServices", "ecs:ListClusters"] if not all(s.exact for s in pinned) else []
        statements.append(statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition", *lists], ["*"]))
    return document(statements)


def console_policy(stack: Stack) -> Policy:
    """Return what the EventBridge console needs to create the rule and its Lambda target by hand."""
    site = stack.site
    return document(
        [
            statement(
                "CreateRule",
                [
                    "events:PutRule",
                    "events:PutTargets",
                    "events:DescribeRule",
                    "events:ListTargetsByRule",
                    "events:EnableRule",
                ],
                [stack.rule_arn(stack.rule_name)],
            ),
            statement("DefaultBus", ["events:DescribeEventBus"], [site.arn("events", "event-bus/default")]),
            # The console's pickers list rules, buses, functions and queues; List* and the pattern tester
            # have no resource-level permissions.
            statement(
                "Browse",
                ["events:ListRules", "events:ListEventBuses", "events:TestEventPattern", "lambda:ListFunctions"],
                ["*"],
            ),
            statement(
                "InvokePermission",
                ["lambda:GetFunction", "lambda:GetPolicy", "lambda:AddPermission"],
                [stack.function_arn],
            ),
            statement(
                "TargetDeadLetterQueue",
                ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
                [stack.target_dlq_arn],
            ),
        ]
    )


def policies(config: Config, stack: Stack, access: TaskAccess) -> dict[str, Policy]:
    """Return every policy kind: execution, installer and console."""
    return {
        "execution": execution_policy(config, stack, access),
        "installer": installer_policy(config, stack),
        "console": console_policy(stack),
    }


def trust_policy(service: str = LAMBDA) -> Policy:
    """Return the trust policy letting `service` assume a role."""
    return document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def target_dlq_policy(stack: Stack) -> Policy:
    """Return the queue policy letting this install's rules (and only them) dead-letter undeliverable events."""
    return document(
        [
            {
                "Sid": "RuleDeadLetters",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sqs:SendMessage",
                "Resource": stack.target_dlq_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": [stack.rule_arn(rule) for rule in stack.rule_names]}},
            }
        ]
    )
