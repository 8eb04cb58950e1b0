"""What `install` creates, by name: one NAME gives the function, its role, the rules, queues, table and log group.

Every ARN is derived from the name and a Site (partition, region, account), so the installer, the policies and
the template compute the same strings. A Site may hold CloudFormation pseudo parameters instead of values
(`Site.pseudo()`); the template wraps such strings in ``Fn::Sub``.
"""

from __future__ import annotations

import re

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.events import partition_of
from ecr_autodeploy.core.values import frozen

DEFAULT_NAME = "ecr-autodeploy"
ALIAS = "live"
# Lambda function and rule names allow 64 characters; the longest derived one adds "-deployments" (12).
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,51}")


@frozen
class Site:
    """Where resources live: partition, region and account (values, or CloudFormation pseudo parameters)."""

    partition: str
    region: str
    account: str

    @classmethod
    def of(cls, region: str, account: str) -> Site:
        """Return the site of an account in a region, with the region's partition."""
        return cls(partition_of(region), region, account)

    @classmethod
    def pseudo(cls) -> Site:
        """Return the site as CloudFormation pseudo parameters, for ``Fn::Sub`` strings."""
        return cls("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        """Return ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` (region/account "" for global services)."""
        where = self.region if region is None else region
        owner = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{where}:{owner}:{resource}"


@frozen
class Stack:
    """The names and ARNs of everything `install` creates for one NAME at one Site."""

    name: str
    site: Site

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def function_name(self) -> str:
        return self.name

    @property
    def role_name(self) -> str:
        return self.name

    @property
    def policy_name(self) -> str:
        return self.name

    @property
    def rule_name(self) -> str:
        """Return the rule for new images (ECR events)."""
        return self.name

    @property
    def deployments_rule_name(self) -> str:
        """Return the rule for ECS deployment state changes."""
        return f"{self.name}-deployments"

    @property
    def reconcile_rule_name(self) -> str:
        """Return the scheduled rule that runs reconcile."""
        return f"{self.name}-reconcile"

    @property
    def rule_names(self) -> tuple[str, str, str]:
        """Return every rule install may create (ECR, deployments, reconcile)."""
        return (self.rule_name, self.deployments_rule_name, self.reconcile_rule_name)

    @property
    def target_id(self) -> str:
        """Return the Id of the function's target on each rule (another Id may route the same rule elsewhere)."""
        return self.name

    def statement_id(self, rule: str) -> str:
        """Return the Sid of the Lambda permission that lets `rule` invoke the function."""
        return f"{rule}-invoke"

    def rule_arn(self, rule: str) -> str:
        """Return the ARN of a rule on the default bus."""
        return self.site.arn("events", f"rule/{rule}")

    @property
    def dlq_name(self) -> str:
        """Return the queue that receives events the function failed on (the on-failure destination)."""
        return f"{self.name}-dlq"

    @property
    def target_dlq_name(self) -> str:
        """Return the queue that receives events EventBridge could not hand to the function."""
        return f"{self.name}-target-dlq"

    @property
    def table_name(self) -> str:
        """Return the DynamoDB ledger table (one deployment per service and digest, deployment records)."""
        return f"{self.name}-ledger"

    @property
    def boundary_name(self) -> str:
        """Return the managed policy an administrator creates (`bootstrap`) as the role's permissions boundary."""
        return f"{self.name}-boundary"

    @property
    def boundary_arn(self) -> str:
        return self.site.arn("iam", f"policy/{self.boundary_name}", region="")

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def role_arn(self) -> str:
        return self.site.arn("iam", f"role/{self.role_name}", region="")

    @property
    def function_arn(self) -> str:
        return self.site.arn("lambda", f"function:{self.function_name}")

    @property
    def alias_arn(self) -> str:
        return f"{self.function_arn}:{ALIAS}"

    @property
    def dlq_arn(self) -> str:
        return self.site.arn("sqs", self.dlq_name)

    @property
    def target_dlq_arn(self) -> str:
        return self.site.arn("sqs", self.target_dlq_name)

    @property
    def table_arn(self) -> str:
        return self.site.arn("dynamodb", f"table/{self.table_name}")

    @property
    def log_group_arn(self) -> str:
        return self.site.arn("logs", f"log-group:{self.log_group}")


def check_name(name: str) -> str:
    """Return `name` when it can name every resource install creates; raise ConfigError saying why not."""
    if not NAME_RE.fullmatch(name):
        raise ConfigError(
            "--name",
            f"{name[:80]!r} cannot name the function, role, rules and queues: start with a letter, then letters, "
            "digits, '-' or '_', at most 52 characters",
        )
    return name
