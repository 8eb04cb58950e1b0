"""The rules, sites and discovered access the IAM tests compute policies from, and every document they give."""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.core.config import Config, config_from_env, parse_config
from ecr_autodeploy.core.iam import TaskAccess, policies
from ecr_autodeploy.core.policy import target_dlq_policy, trust_policy
from ecr_autodeploy.core.stack import Site, Stack
from tests.policy_lint import identity_form

ACCOUNT = "123456789012"
OTHER = "210987654321"
SITE = Site.of("us-east-1", ACCOUNT)
STACK = Stack("ecr-autodeploy", SITE)
TARGET_ROLE = f"arn:aws:iam::{OTHER}:role/deploy/ecr-autodeploy-target"
ACCESS = TaskAccess(
    families=((None, "shop-api"), ("eu-west-1", "shop-web")),
    roles=(f"arn:aws:iam::{ACCOUNT}:role/api-task", f"arn:aws:iam::{ACCOUNT}:role/api-execution"),
    forced_families=((None, "team-billing"),),
)


def rules(*items: dict[str, Any], notify: dict[str, Any] | None = None) -> Config:
    document: dict[str, Any] = {"rules": list(items)}
    if notify is not None:
        document["notify"] = notify
    return parse_config(document, "rules.yaml")


SHOP = rules(
    {
        "repository": "shop/api",
        "targets": [
            {"cluster": "shop", "service": "api"},
            {"cluster": "shop", "service": "web", "region": "eu-west-1"},
        ],
    },
    {
        "repository": "re:team/(?P<service>[a-z]+)",
        "strategy": "force",
        "targets": [{"cluster": "team", "service": "{service}"}],
    },
    {
        "repository": "tools/*",
        "targets": [
            {
                "cluster": "x",
                "service": "y",
                "role_arn": TARGET_ROLE,
                "role_external_id": "ecr-autodeploy-7f3a",
                "families": ["tools-y"],
                "pass_roles": [f"arn:aws:iam::{OTHER}:role/tools-y-task", f"arn:aws:iam::{OTHER}:role/ecs/*"],
            }
        ],
    },
    notify={
        "sns_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:deploys",
        "slack_webhook_ssm_parameter": "/ecr-autodeploy/slack-url",
        "webhook_url_secret_id": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hooks/generic",
    },
)
NAMED = rules(
    {
        "repository": "shop/*",
        "targets": [
            {
                "cluster": "shop",
                "service": "{repository}",
                "families": ["shop-*"],
                "pass_roles": [f"arn:aws:iam::{ACCOUNT}:role/shop/*"],
            }
        ],
    }
)
SEED = config_from_env(
    {"ECR_SERVICE_REGEX": r"repository/[^/]+/([^/]+)$", "ECR_CLUSTER_REGEX": r"repository/([^/]+)/"}, lambda p: ""
)
CONFIGS = {
    "shop": SHOP,
    "named": NAMED,
    "seed": SEED,
    "one": rules({"repository": "app", "targets": [{"cluster": "c", "service": "s"}]}),
    "force": rules({"repository": "app", "strategy": "force", "targets": [{"cluster": "c", "service": "s"}]}),
    "rollback": rules({"repository": "app", "rollback": True, "targets": [{"cluster": "c", "service": "s"}]}),
    "gates": rules(
        {
            "repository": "app",
            "approval": "required",
            "windows": ["Mon-Fri 09:00-16:00 Europe/Berlin"],
            "hold_if_alarm": ["app-5xx", "app-latency"],
            "max_parallel": 1,
            "targets": [
                {"cluster": "c", "service": "s", "after": {"cluster": "staging", "service": "s"}},
                {"cluster": "c", "service": "s", "region": "eu-west-1"},
            ],
        }
    ),
}


def every_document() -> list[tuple[str, dict[str, Any]]]:
    """Return (label, identity policy) of every document `policy` prints, resource policies in identity form."""
    found = []
    for name, config in CONFIGS.items():
        for access_name, access in (("known", ACCESS), ("unknown", TaskAccess.unknown())):
            for kind, document in policies(config, STACK, access).items():
                if kind != "target":
                    found.append((f"{name}-{access_name}-{kind}", document))
                    continue
                for arn, part in document.items():
                    label = f"{name}-{access_name}-target-{arn.rsplit('/', 1)[-1]}"
                    found.append((f"{label}-permissions", part["permissions"]))
                    found.append((f"{label}-trust", identity_form(part["trust"], [arn])))
                    repository = part["repository_policy"]
                    found.append(
                        (f"{label}-repository", identity_form(repository["policy"], repository["repositories"]))
                    )
    found.append(("target-dlq", target_dlq_policy(STACK)))
    found.append(("lambda-trust", identity_form(trust_policy(), [STACK.role_arn])))
    return found
