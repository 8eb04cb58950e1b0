"""Bad configuration: every kind of invalid rules file is refused with the file, the rule index and the field.

Each case is a real file on disk, read through both doors a person uses: ``ecr-autodeploy validate FILE`` (exit 1,
one ``Error:`` line on stderr) and ``wiring.load_config(FILE)`` (ConfigError with structured fields). The broken
rule is the second one, so that a wrong index cannot pass. Random damage to a valid document must also end as a
ConfigError or a valid Config, never as another exception.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.wiring import load_config

GOOD_RULE: dict[str, Any] = {
    "repository": "shop/api",
    "tags": ["*"],
    "targets": [{"cluster": "shop", "service": "api"}],
}
ROLE = "arn:aws:iam::111122223333:role/deployer"


def rule(**changes: Any) -> dict[str, Any]:
    """Return a valid rule with `changes` applied (a value of ... deletes the key)."""
    base: dict[str, Any] = {"repository": "shop/web", "tags": ["*"], "targets": [{"cluster": "shop", "service": "web"}]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def target(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"cluster": "shop", "service": "web"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


# (case id, the broken second rule, the field the error must name, words the problem must contain)
RULE_CASES: list[tuple[str, Any, str | None, str]] = [
    ("rule-not-a-mapping", "shop/web", None, "expected a mapping"),
    ("unknown-rule-key", rule(tag=["v*"]), "tag", "did you mean 'tags'"),
    ("repository-missing", rule(repository=...), "repository", "missing"),
    ("repository-wrong-type", rule(repository=7), "repository", "got a number"),
    ("repository-upper-case", rule(repository="Shop/Web"), "repository", "not an ECR repository name"),
    ("repository-glob-impossible", rule(repository="Shop/*"), "repository", "can never match"),
    ("repository-bad-regex", rule(repository="re:shop/("), "repository", "invalid regular expression"),
    ("repository-regex-group-clash", rule(repository="re:(?P<repository>.+)"), "repository", "clashes"),
    ("tags-not-a-list", rule(tags="v*"), "tags", "expected a list of strings"),
    ("tags-empty", rule(tags=[]), "tags", "empty list"),
    ("tag-item-wrong-type", rule(tags=["v*", 3]), "tags[1]", "got a number"),
    ("tag-bad-regex", rule(tags=["re:("]), "tags[0]", "invalid regular expression"),
    ("tag-bad-semver", rule(exclude_tags=["semver:>=1.x"]), "exclude_tags[0]", "not a version"),
    ("untagged-not-bool", rule(untagged="no"), "untagged", "expected true or false"),
    ("allow-downgrade-not-bool", rule(allow_downgrade=1), "allow_downgrade", "expected true or false"),
    ("rollback-not-bool", rule(rollback="yes"), "rollback", "expected true or false"),
    ("strategy-unknown", rule(strategy="rolling"), "strategy", "expected 'pin' or 'force'"),
    ("targets-missing", rule(targets=...), "targets", "missing"),
    ("targets-empty", rule(targets=[]), "targets", "empty"),
    ("targets-not-a-list", rule(targets=target()), "targets", "expected a list of targets"),
    ("target-not-a-mapping", rule(targets=[target(), "web"]), "targets[1]", "expected a mapping"),
    ("target-unknown-key", rule(targets=[target(services="x")]), "targets[0].services", "did you mean 'service'"),
    ("cluster-missing", rule(targets=[target(cluster=...)]), "targets[0].cluster", "missing"),
    (
        "cluster-an-arn",
        rule(targets=[target(cluster="arn:aws:ecs:us-east-1:123456789012:cluster/shop")]),
        "targets[0].cluster",
        "is an ARN",
    ),
    ("service-invalid-name", rule(targets=[target(service="my web")]), "targets[0].service", "not a valid service"),
    ("service-too-long", rule(targets=[target(service="x" * 256)]), "targets[0].service", "at most 255"),
    (
        "template-unknown-variable",
        rule(targets=[target(service="{service}")]),
        "targets[0].service",
        "unknown template variable",
    ),
    ("template-format-spec", rule(targets=[target(service="{repository!r}")]), "targets[0].service", "bad template"),
    ("template-unbalanced", rule(targets=[target(service="web-{")]), "targets[0].service", "bad template"),
    ("containers-empty", rule(targets=[target(containers=[])]), "targets[0].containers", "empty list"),
    ("container-invalid", rule(targets=[target(containers=["a/b"])]), "targets[0].containers[0]", "not a valid"),
    ("region-invalid", rule(targets=[target(region="us-east")]), "targets[0].region", "not an AWS region"),
    ("role-arn-invalid", rule(targets=[target(role_arn="arn:aws:iam::1:role/x")]), "targets[0].role_arn", "IAM role"),
    ("role-arn-a-user", rule(targets=[target(role_arn=ROLE.replace("role/", "user/"))]), "targets[0].role_arn", "IAM"),
    ("repository-catastrophic-regex", rule(repository="re:^(a+)+$"), "repository", "nests a repeat inside a repeat"),
    ("tag-catastrophic-regex", rule(tags=[r"re:(\w+\s?)*"]), "tags[0]", "nests a repeat inside a repeat"),
    (
        "external-id-without-role",
        rule(targets=[target(role_external_id="x1")]),
        "targets[0].role_external_id",
        "role_arn",
    ),
    (
        "families-not-names",
        rule(targets=[target(families=["a b"])]),
        "targets[0].families[0]",
        "task-definition family",
    ),
]

# Nine strings, then seven levels of nine aliases each: 43 million values once expanded, from 400 bytes.
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 8)
)
# (case id, file text, words the message must contain besides the file name)
FILE_CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("yaml-syntax", "rules:\n  - repository: shop/api\n   targets: [\n", ("invalid YAML at line",)),
    ("json-syntax", '{"rules": [{"repository": "shop/api"}\n', ("invalid JSON at line 2",)),
    ("yaml-duplicate-key", "rules: []\nrules: []\n", ("duplicate key 'rules' at line 2",)),
    ("json-duplicate-key", '{"rules": [], "rules": []}', ("duplicate key 'rules'",)),
    ("empty-file", "", ("expected a mapping", "got null")),
    ("top-level-list", "- repository: shop/api\n", ("expected a mapping", "got a list")),
    ("rules-missing", "notify: {}\n", ("rules: missing",)),
    ("rules-empty", "rules: []\n", ("rules: empty",)),
    ("unknown-top-key", "rule: []\n", ("rule: unknown key", "did you mean 'rules'")),
    (
        "notify-not-a-mapping",
        "rules: [{repository: a1, targets: [{cluster: c, service: s}]}]\nnotify: [x]\n",
        ("notify",),
    ),
    ("seed-and-rules", "rules: []\nseed: {service_regex: '(a)', cluster_regex: '(b)'}\n", ("seed", "not both")),
    ("seed-without-group", "seed: {service_regex: 'a', cluster_regex: '(b)'}\n", ("seed.service_regex", "no group")),
    ("yaml-date-value", "rules:\n  - repository: shop/api\n    untagged: 2024-01-01\n", ("rules[0]", "untagged")),
    (
        "defaults-block",
        "rules: [{repository: a1, targets: [{cluster: c, service: s}]}]\ndefaults: {strategy: pin}\n",
        ("defaults: unknown key",),
    ),
    (
        "yaml-alias-bomb",
        ALIAS_BOMB + "rules: [{repository: a1, targets: [{cluster: c, service: s}]}]\n",
        ("more than 100000 values",),
    ),
    ("json-deep-nesting", '{"rules": ' + "[" * 3000 + "]" * 3000 + "}", ("nested more than 32 levels deep",)),
    ("yaml-deep-nesting", "rules: " + "[" * 3000 + "]" * 3000 + "\n", ("nested more than 32 levels deep",)),
]


def run_validate(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.stdout, result.stderr


def both_doors(path: Path) -> tuple[str, ConfigError]:
    """Return (the CLI's stderr, load_config's error) for a file both must refuse."""
    code, out, err = run_validate(path)
    assert code == 1, (code, out, err)
    assert err.startswith("Error: "), err
    assert err.count("\n") == 1, f"one line expected: {err!r}"
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert err.strip() == f"Error: {caught.value}"
    return err, caught.value


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize(("case", "broken", "field", "words"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_invalid_rule_names_the_file_rule_and_field(
    tmp_path: Path, fmt: str, case: str, broken: Any, field: str | None, words: str
) -> None:
    document = {"rules": [GOOD_RULE, broken]}
    path = tmp_path / f"{case}.{fmt}"
    path.write_text(yaml.safe_dump(document) if fmt == "yaml" else json.dumps(document), encoding="utf-8")

    err, error = both_doors(path)

    assert (error.source, error.rule, error.field) == (str(path), 1, field)
    assert str(path) in err
    assert "rules[1]" in err
    assert field is None or f"rules[1]: {field}: " in err
    assert words in error.problem


@pytest.mark.parametrize(("case", "text", "words"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_each_invalid_file_names_the_file_and_what_is_wrong(
    tmp_path: Path, case: str, text: str, words: tuple[str, ...]
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")

    err, error = both_doors(path)

    assert error.source == str(path)
    assert err.startswith(f"Error: {path}: ")
    for word in words:
        assert word in err


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(str(missing))
    assert str(missing) in str(caught.value)
    code, _, err = run_validate(missing)
    assert code in (1, 2)
    assert "absent.yaml" in err


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules:\n  - repository: caf\xe9\n".encode("latin-1"))

    err, error = both_doors(path)

    assert error.source == str(path)
    assert "UTF-8" in err


def test_a_region_longer_than_botocore_takes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long-region.json"
    path.write_text(json.dumps({"rules": [GOOD_RULE, rule(targets=[target(region="us-east-" + "1" * 70)])]}))

    _, error = both_doors(path)

    assert (error.rule, error.field) == (1, "targets[0].region")


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text("\ufeff" + json.dumps({"rules": [GOOD_RULE]}), encoding="utf-8")
    assert len(load_config(str(path)).rules) == 1
    assert run_validate(path)[0] == 0


# ---- random damage ------------------------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
)
VALID_DOCUMENT: dict[str, Any] = {
    "rules": [
        {
            "repository": "re:shop/(?P<app>[a-z]+)",
            "tags": ["v*", "semver:>=1.0"],
            "exclude_tags": ["*-rc*"],
            "untagged": False,
            "strategy": "pin",
            "allow_downgrade": False,
            "rollback": True,
            "targets": [{"cluster": "shop", "service": "{app}", "containers": ["{app}"], "region": "eu-west-1"}],
        },
        GOOD_RULE,
    ],
    "notify": {"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:deploys"},
}


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every node under `value` (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths_of(item, (*prefix, i))
    return found


def damaged(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """Return a copy of `document` with the node at `path` replaced by `value`."""
    if not path:
        return value
    copy: Any = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@given(
    path=st.sampled_from(paths_of(VALID_DOCUMENT)),
    value=JSON_VALUES | st.sampled_from(["", "\x00", "é" * 300, "{", "re:(", "semver:", "x" * 5000]),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_random_damage_ends_as_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, path: tuple[Any, ...], value: Any, fmt: str
) -> None:
    document = damaged(VALID_DOCUMENT, path, value)
    file = tmp_path_factory.mktemp("damage") / f"rules.{fmt}"
    text = yaml.safe_dump(document, allow_unicode=True) if fmt == "yaml" else json.dumps(document)
    file.write_text(text, encoding="utf-8")
    outcome = _load(file)
    if isinstance(outcome, ConfigError):
        assert str(file) in str(outcome)
        assert outcome.rule is None or 0 <= outcome.rule < len(document["rules"])
    else:
        assert isinstance(outcome, Config)


def _load(path: Path) -> Config | ConfigError:
    """Return the configuration, or the ConfigError; any other exception propagates (a bug)."""
    try:
        return load_config(str(path))
    except ConfigError as err:
        return err


def test_the_documented_notify_on_list_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules: [{repository: shop/api, targets: [{cluster: shop, service: api}]}]\n"
        "notify:\n  sns_topic_arn: arn:aws:sns:us-east-1:123456789012:deploys\n  on: [failed, replication_failed]\n"
    )
    config = load_config(str(path))
    assert config.notify is not None
    assert config.notify.on == frozenset({"failed", "replication_failed"})
    assert run_validate(path)[0] == 0
