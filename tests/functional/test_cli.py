"""The first CLI verbs on moto: validate, replay, plan, deploy, and how errors reach the user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecr_autodeploy.local import events
from tests.functional.cli_runs import run
from tests.functional.world import World

RULES_YAML = """\
rules:
  - repository: shop/api
    tags: ["v*"]
    targets:
      - cluster: shop
        service: api
      - cluster: shop
        service: worker
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML)
    return path


def shop(world: World) -> None:
    world.ledger()
    world.repository("shop/api")
    world.cluster("shop")
    for name in ("api", "worker"):
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})


def test_validate_prints_the_rules(rules: Path) -> None:
    code, out, _ = run("validate", str(rules))
    assert code == 0
    assert "shop/api" in out
    assert out.rstrip().endswith("rules.yaml: valid, 1 rule")


def test_validate_names_the_file_rule_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - repository: shop/api\n    targets:\n      - service: api\n")
    code, _, err = run("validate", str(bad))
    assert code == 1
    assert err.startswith("Error: ")
    assert "bad.yaml" in err
    assert "rules[0]" in err
    assert "cluster" in err


def test_replay_dry_run_changes_nothing_then_replay_deploys(world: World, rules: Path, tmp_path: Path) -> None:
    shop(world)
    digest = world.push("shop/api", "v1", "one")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(events.replicate("shop/api", digest, "v1")))

    code, out, _ = run("replay", str(event), "--config", str(rules), "--dry-run", "--json")
    assert code == 0
    assert [o["status"] for o in json.loads(out)["outcomes"]] == ["planned", "planned"]
    assert world.revisions("shop-api") == 1

    code, out, _ = run("replay", str(event), "--config", str(rules))
    assert code == 0
    assert out.count("deployed") == 2
    assert world.images_of("shop", "worker")["app"].endswith(digest)


def test_plan_for_a_repository_and_tag_as_json(world: World, rules: Path) -> None:
    shop(world)
    world.push("shop/api", "v2", "two")
    code, out, _ = run("plan", "--repository", "shop/api", "--tag", "v2", "--config", str(rules), "--json")
    assert code == 0
    outcomes = json.loads(out)["outcomes"]
    assert {o["target"] for o in outcomes} == {"us-east-1/shop/api", "us-east-1/shop/worker"}
    assert all(o["status"] == "planned" for o in outcomes)


def test_manual_deploy_resolves_the_tag_to_a_digest(world: World) -> None:
    shop(world)
    digest = world.push("shop/api", "v3", "three")
    code, out, _ = run(
        "deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v3", "--no-wait", "--json"
    )
    assert code == 0, out
    (outcome,) = json.loads(out)["outcomes"]
    assert (outcome["status"], outcome["digest"]) == ("deployed", digest)
    assert world.images_of("shop", "api")["app"].endswith(f"shop/api@{digest}")


def test_errors_are_one_line_on_stderr_with_exit_1(world: World) -> None:
    shop(world)
    world.push("shop/api", "v3", "three")
    code, out, err = run("deploy", "--cluster", "shop", "--service", "ghost", "--image", "shop/api:v3", "--no-wait")
    assert code == 1
    assert "Error: " in err
    assert "ServiceNotFoundException" in err
    assert "ghost" in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = run("plan")
    assert code == 2
    assert "EVENT.json or --repository" in err
    code, _, _ = run("deploy", "--cluster", "shop")
    assert code == 2


def test_a_missing_event_file_is_named(rules: Path) -> None:
    code, _, err = run("replay", "no-such-event.json", "--config", str(rules))
    assert code == 1
    assert "no-such-event.json" in err
