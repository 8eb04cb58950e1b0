"""Unit tests of core.mapping: seed regexes and rules turned into targets and skips."""

from __future__ import annotations

import re
from typing import Any

from ecr_autodeploy.core.config import Config, Rule, SeedRegexes, TargetSpec, config_from_env, parse_config
from ecr_autodeploy.core.mapping import SEED_TAG_POLICY, Skip, Target, map_repository
from ecr_autodeploy.core.ordering import Ordering
from ecr_autodeploy.core.tags import TagPolicy

ACCOUNT = "123456789012"


def arn(repository: str, region: str = "us-east-1") -> str:
    return f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository}"


def rules(*items: dict[str, Any]) -> Config:
    return parse_config({"rules": list(items)}, "rules.yaml")


def seed(service: str, cluster: str, strategy: str = "pin") -> Config:
    env = {"ECR_SERVICE_REGEX": service, "ECR_CLUSTER_REGEX": cluster, "AUTODEPLOY_STRATEGY": strategy}
    return config_from_env(env, lambda path: "")


def mapped(config: Config, repository: str, region: str = "us-east-1") -> tuple[list[Target], list[Skip]]:
    return map_repository(config, repository, arn(repository, region), region)


# --- seed-compatible mode -----------------------------------------------------------------------------------------

SERVICE_RE = r"repository/[^/]+/([^/]+)$"
CLUSTER_RE = r"repository/([^/]+)/"


def test_seed_mode_takes_group_one_of_each_regex() -> None:
    targets, skips = mapped(seed(SERVICE_RE, CLUSTER_RE, "force"), "shop/api", region="eu-west-1")
    assert skips == []
    assert targets == [
        Target(
            cluster="shop",
            service="api",
            region="eu-west-1",
            role_arn=None,
            containers=None,
            strategy="force",
            tags=SEED_TAG_POLICY,
            allow_downgrade=False,
            rollback=False,
            rule=None,
            follow=True,
        )
    ]
    assert targets[0].key == "eu-west-1/shop/api"


def test_seed_mode_follows_the_tag_a_container_names_but_not_untagged_platform_manifests() -> None:
    (target,), _ = mapped(seed(SERVICE_RE, CLUSTER_RE), "shop/api")
    assert target.strategy == "pin"
    assert target.tags.allows("latest")  # the policy allows any tag; following narrows it per container
    assert target.follow
    assert not target.tags.allows(None)


def test_a_rule_follows_tags_unless_it_has_a_tags_allow_list() -> None:
    following = rules({"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]})
    listed = rules({"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]})
    assert mapped(following, "shop/api")[0][0].follow
    assert not mapped(listed, "shop/api")[0][0].follow


def test_seed_mode_searches_the_arn_not_the_name() -> None:
    # The region and account are part of what the regexes see, as in the original design.
    config = seed(r":ecr:[a-z0-9-]+:\d+:repository/(?:[^/]+/)*([^/]+)$", r":ecr:([a-z]+-[a-z]+)-\d:")
    (target,), _ = mapped(config, "team/shop/api", region="us-west-2")
    assert (target.cluster, target.service) == ("us-west", "api")


def test_seed_mode_skips_when_neither_regex_matches() -> None:
    reason = (
        f"service regex {SERVICE_RE!r} and cluster regex {CLUSTER_RE!r} did not match repository ARN {arn('api')!r}"
    )
    assert mapped(seed(SERVICE_RE, CLUSTER_RE), "api") == ([], [Skip(reason, None)])


def test_seed_mode_skip_names_the_regex_that_did_not_match() -> None:
    only_cluster = seed(r"repository/[^/]+/(api)$", CLUSTER_RE)
    assert mapped(only_cluster, "shop/web") == (
        [],
        [Skip(f"service regex 'repository/[^/]+/(api)$' did not match repository ARN {arn('shop/web')!r}", None)],
    )
    only_service = seed(SERVICE_RE, r"repository/(prod)/")
    assert mapped(only_service, "shop/web") == (
        [],
        [Skip(f"cluster regex 'repository/(prod)/' did not match repository ARN {arn('shop/web')!r}", None)],
    )


def test_seed_mode_skips_an_empty_or_invalid_group() -> None:
    empty = seed(r"repository/[^/]+/(x)?", CLUSTER_RE)
    assert mapped(empty, "shop/api") == (
        [],
        [Skip(f"service regex group 1 on repository ARN {arn('shop/api')!r}: empty service name", None)],
    )
    dotted = seed(SERVICE_RE, r"repository/([^/]+)/")
    (skip,) = mapped(dotted, "shop.eu/api")[1]
    assert skip.reason == (
        f"cluster regex group 1 on repository ARN {arn('shop.eu/api')!r}: 'shop.eu' is not a valid cluster name"
        " (letters, digits, '-' and '_', at most 255)"
    )


def test_seed_regexes_built_by_hand() -> None:
    config = Config("x", (), SeedRegexes(re.compile("/(a)pi"), re.compile(r"/(s)hop"), "pin"), {})
    (target,), skips = mapped(config, "shop/api")
    assert skips == []
    assert (target.cluster, target.service) == ("s", "a")


# --- rules mode ---------------------------------------------------------------------------------------------------


def test_no_matching_rule_is_one_skip() -> None:
    config = rules({"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]})
    assert mapped(config, "shop/web") == ([], [Skip("no rule matches repository 'shop/web'", None)])


def test_empty_configuration_maps_nothing() -> None:
    config = Config(source="command line", rules=(), seed=None, raw={})
    assert mapped(config, "shop/api") == (
        [],
        [Skip("command line has no rules, so repository 'shop/api' maps to nothing", None)],
    )


def test_exact_rule_carries_everything_the_deploy_needs() -> None:
    config = rules(
        {"repository": "other", "targets": [{"cluster": "x", "service": "y"}]},
        {
            "repository": "shop/api",
            "tags": ["v*"],
            "exclude_tags": ["*-rc*"],
            "strategy": "force",
            "allow_downgrade": True,
            "rollback": True,
            "targets": [
                {
                    "cluster": "shop",
                    "service": "api",
                    "containers": ["api", "worker"],
                    "region": "eu-central-1",
                    "role_arn": "arn:aws:iam::111122223333:role/deployer",
                }
            ],
        },
    )
    targets, skips = mapped(config, "shop/api")
    assert skips == []
    assert targets == [
        Target(
            cluster="shop",
            service="api",
            region="eu-central-1",
            role_arn="arn:aws:iam::111122223333:role/deployer",
            containers=("api", "worker"),
            strategy="force",
            tags=TagPolicy(allow=("v*",), exclude=("*-rc*",), untagged=False),
            allow_downgrade=True,
            rollback=True,
            rule=1,
            order=Ordering("push-time", TagPolicy(allow=("v*",), exclude=("*-rc*",), untagged=False)),
        )
    ]


def test_target_region_defaults_to_the_event_region() -> None:
    config = rules({"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]})
    (target,), _ = mapped(config, "shop/api", region="ap-south-1")
    assert target.region == "ap-south-1"
    assert target.key == "ap-south-1/shop/api"
    assert target.containers is None
    assert target.role_arn is None


def test_one_image_fans_out_to_many_services_in_order() -> None:
    config = rules(
        {
            "repository": "shop/api",
            "targets": [
                {"cluster": "shop", "service": "api"},
                {"cluster": "shop", "service": "api-worker"},
                {"cluster": "shop", "service": "api", "region": "eu-west-1"},
            ],
        }
    )
    targets, skips = mapped(config, "shop/api")
    assert skips == []
    assert [t.key for t in targets] == ["us-east-1/shop/api", "us-east-1/shop/api-worker", "eu-west-1/shop/api"]
    assert {t.rule for t in targets} == {0}


def test_every_matching_rule_contributes() -> None:
    config = rules(
        {"repository": "shop/*", "targets": [{"cluster": "audit", "service": "scanner"}]},
        {"repository": "shop/api", "strategy": "force", "targets": [{"cluster": "shop", "service": "api"}]},
        {"repository": "web/*", "targets": [{"cluster": "web", "service": "x"}]},
    )
    targets, skips = mapped(config, "shop/api")
    assert skips == []
    assert [(t.key, t.rule, t.strategy) for t in targets] == [
        ("us-east-1/audit/scanner", 0, "pin"),
        ("us-east-1/shop/api", 1, "force"),
    ]


def test_the_same_service_from_two_rules_is_kept_once_first_rule_wins() -> None:
    config = rules(
        {
            "repository": "re:shop/(?P<service>.+)",
            "tags": ["v*"],
            "targets": [{"cluster": "shop", "service": "{service}"}],
        },
        {"repository": "shop/api", "strategy": "force", "targets": [{"cluster": "shop", "service": "api"}]},
    )
    targets, skips = mapped(config, "shop/api")
    assert [(t.key, t.rule, t.strategy, t.tags.allow) for t in targets] == [("us-east-1/shop/api", 0, "pin", ("v*",))]
    assert skips == [Skip("rules[1].targets[0]: us-east-1/shop/api is already a target of rules[0]", 1)]


def test_duplicate_within_one_rule_counts_the_event_region() -> None:
    config = rules(
        {
            "repository": "shop/api",
            "targets": [
                {"cluster": "shop", "service": "api"},
                {"cluster": "shop", "service": "api", "region": "us-east-1"},
            ],
        }
    )
    targets, skips = mapped(config, "shop/api", region="us-east-1")
    assert [t.key for t in targets] == ["us-east-1/shop/api"]
    assert skips == [Skip("rules[0].targets[1]: us-east-1/shop/api is already a target of rules[0]", 0)]
    targets, skips = mapped(config, "shop/api", region="us-west-2")
    assert [t.key for t in targets] == ["us-west-2/shop/api", "us-east-1/shop/api"]
    assert skips == []


def test_regex_named_groups_fill_templates() -> None:
    config = rules(
        {
            "repository": "re:^(?P<team>[a-z]+)/(?P<service>[a-z-]+)$",
            "targets": [
                {"cluster": "{team}-prod", "service": "{service}", "containers": ["{service}", "log-router"]},
                {"cluster": "{team}-dr", "service": "{team}_{service}", "region": "us-west-2"},
            ],
        }
    )
    targets, skips = mapped(config, "shop/cart-api")
    assert skips == []
    assert [(t.cluster, t.service, t.region, t.containers) for t in targets] == [
        ("shop-prod", "cart-api", "us-east-1", ("cart-api", "log-router")),
        ("shop-dr", "shop_cart-api", "us-west-2", None),
    ]


def test_repository_variable_fills_templates() -> None:
    config = rules({"repository": "api", "targets": [{"cluster": "c", "service": "{repository}-svc"}]})
    (target,), _ = mapped(config, "api")
    assert target.service == "api-svc"


def test_template_giving_an_invalid_name_skips_that_target_only() -> None:
    config = rules(
        {
            "repository": "re:(?P<team>[a-z.]+)/(?P<app>[a-z]+)",
            "targets": [{"cluster": "{team}", "service": "{app}"}, {"cluster": "fixed", "service": "{app}"}],
        }
    )
    targets, skips = mapped(config, "shop.eu/api")
    assert [t.key for t in targets] == ["us-east-1/fixed/api"]
    assert skips == [
        Skip(
            "rules[0].targets[0]: cluster template '{team}' gave an invalid name: 'shop.eu' is not a valid cluster"
            " name (letters, digits, '-' and '_', at most 255)",
            0,
        )
    ]


def test_template_giving_an_empty_name_is_a_skip() -> None:
    config = rules(
        {
            "repository": "re:(?P<env>prod/)?(?P<app>[a-z]+)",
            "targets": [{"cluster": "c", "service": "{app}", "containers": ["{env}"]}],
        }
    )
    targets, skips = mapped(config, "api")
    assert targets == []
    assert skips == [
        Skip("rules[0].targets[0]: container template '{env}' gave an invalid name: empty container name", 0)
    ]


def test_a_hand_built_rule_with_an_unknown_variable_is_a_skip_not_a_crash() -> None:
    rule = Rule(0, "shop/api", TagPolicy(), "pin", (TargetSpec("shop", "{nope}"),))
    config = Config("x", (rule,), None, {})
    targets, skips = mapped(config, "shop/api")
    assert targets == []
    assert skips == [Skip("rules[0].targets[0]: service template '{nope}' cannot be filled: KeyError('nope')", 0)]


def test_rules_take_precedence_over_seed_in_a_hand_built_config() -> None:
    rule = Rule(0, "shop/api", TagPolicy(), "pin", (TargetSpec("shop", "api"),))
    config = Config("x", (rule,), SeedRegexes(re.compile("(x)"), re.compile("(y)"), "force"), {})
    (target,), _ = mapped(config, "shop/api")
    assert (target.rule, target.strategy) == (0, "pin")


def test_targets_are_frozen_values() -> None:
    config = rules({"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]})
    (target,), _ = mapped(config, "shop/api")
    assert (target,) == tuple(mapped(config, "shop/api")[0])
    assert hash(target) == hash(mapped(config, "shop/api")[0][0])
