"""The gate verbs through click on moto: approvals, approve, reject, pause, resume, and status's GATE column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecr_autodeploy.core.approvals import approval_id
from ecr_autodeploy.local import events
from tests.functional.cli_runs import run
from tests.functional.world import World

CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's GetCallerIdentity answers
RULES = {
    "rules": [
        {
            "repository": "shop/api",
            "tags": ["v*"],
            "approval": "required",
            "targets": [{"cluster": "prod", "service": "api"}],
        },
        {"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "prod", "service": "web"}]},
    ]
}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES))
    return path


@pytest.fixture
def prod(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("COLUMNS", "200")
    world.repository("shop/api")
    world.cluster("prod")
    for name in ("api", "web"):
        world.service("prod", name, {"app": world.image_uri("shop/api", ":v0")})
    world.ledger()
    return world


def arrive(world: World, tmp_path: Path, rules: Path, tag: str) -> tuple[str, dict[str, Any]]:
    """Push an image and run the function's code on its event (replay); return its digest and the result."""
    digest = world.push("shop/api", tag, tag)
    event = tmp_path / f"{tag}.json"
    event.write_text(json.dumps(events.replicate("shop/api", digest, tag)))
    code, out, err = run("replay", str(event), "--config", str(rules), "--json")
    assert code == 0, err
    return digest, json.loads(out)


def test_approvals_lists_what_waits_and_approve_deploys_it_as_the_caller(
    prod: World, tmp_path: Path, rules: Path
) -> None:
    digest, replayed = arrive(prod, tmp_path, rules, "v1")
    wanted = approval_id(0, "shop/api", digest)
    statuses = {o["service"]: o["status"] for o in replayed["outcomes"]}
    assert statuses == {"api": "pending_approval", "web": "deployed"}

    code, out, err = run("approvals")
    assert code == 0, err
    header, _, row = out.splitlines()[:3]
    assert header.split()[:4] == ["ID", "IMAGE", "TARGETS", "RULE"]
    assert row.split()[:4] == [wanted, f"shop/api:v1@{digest[:19]}", "us-east-1/prod/api", "rules[0]"]
    assert "approve with: ecr-autodeploy approve ID --region us-east-1 --name ecr-autodeploy" in err
    code, out, _ = run("approvals", "--json")
    (listed,) = json.loads(out)["approvals"]
    assert listed["approve"] == f"ecr-autodeploy approve {wanted} --region us-east-1 --name ecr-autodeploy"
    assert listed["state"] == "pending"
    assert json.loads(out)["schema_version"] == 1

    code, out, err = run("status", "--config", str(rules))
    assert code == 0, err
    api = next(line for line in out.splitlines() if line.startswith("us-east-1/prod/api"))
    assert f"pending_approval {wanted}" in api

    code, out, err = run("approve", wanted, "--dry-run")
    assert code == 0, err
    assert "planned" in out
    assert f"would approve {wanted}" in err
    assert prod.images_of("prod", "api")["app"].endswith(":v0")

    code, out, err = run("approve", wanted)

    assert code == 0, err
    assert "deployed" in out
    assert f"approved {wanted} (shop/api:v1@{digest[:19]}) as {CALLER}" in err
    assert prod.images_of("prod", "api")["app"].endswith(f"@{digest}")
    code, out, _ = run("history", "--cluster", "prod", "--service", "api")
    assert f"approval {wanted} by {CALLER}" in out
    code, _, err = run("approve", wanted)
    assert code == 1
    assert err.startswith(f"Error: approval {wanted} of shop/api:v1@")
    assert f"is approved by {CALLER} at " in err
    code, out, _ = run("approvals")
    assert out == ""


def test_reject_closes_it_and_approve_then_says_so(prod: World, tmp_path: Path, rules: Path) -> None:
    digest, _ = arrive(prod, tmp_path, rules, "v1")
    wanted = approval_id(0, "shop/api", digest)

    code, out, err = run("reject", wanted, "--reason", "breaks checkout", "--json")

    assert code == 0, err
    approval = json.loads(out)["approval"]
    assert (approval["state"], approval["decided_by"]) == ("rejected", CALLER)
    assert approval["reason"].endswith(": breaks checkout")
    code, _, err = run("approve", wanted)
    assert code == 1
    assert "is rejected by" in err
    code, _, err = run("reject", "000000000000")
    assert code == 1
    assert "Error: no approval 000000000000 in the ledger" in err


def test_a_late_approval_after_a_newer_image_says_superseded_and_deploys_nothing(
    prod: World, tmp_path: Path, rules: Path
) -> None:
    older, _ = arrive(prod, tmp_path, rules, "v1")
    newer, _ = arrive(prod, tmp_path, rules, "v2")

    code, _, err = run("approve", approval_id(0, "shop/api", older))

    assert code == 1
    assert f"superseded by approval {approval_id(0, 'shop/api', newer)} of a newer image: nothing deployed" in err
    assert prod.images_of("prod", "api")["app"].endswith(":v0")


def test_pause_and_resume_a_service_as_status_and_events_see_them(prod: World, tmp_path: Path, rules: Path) -> None:
    code, out, err = run("pause", "--service", "prod/web", "--reason", "incident 42")
    assert code == 0, err
    assert out.startswith("paused service us-east-1/prod/web (incident 42): events are logged and skipped until")
    assert "`ecr-autodeploy resume --service prod/web --region us-east-1`" in out

    digest, replayed = arrive(prod, tmp_path, rules, "v1")

    web = next(o for o in replayed["outcomes"] if o["service"] == "web")
    assert (web["status"], web["gate"]) == ("skipped", "pause")
    assert web["reason"].startswith("paused (incident 42): service us-east-1/prod/web since")
    code, out, _ = run("status", "--config", str(rules), "--json")
    gates = {s["service"]: s["gate"] for s in json.loads(out)["services"]}
    assert gates["us-east-1/prod/web"]["status"] == "skipped"
    assert gates["us-east-1/prod/web"]["gate"] == "pause"
    code, out, _ = run("status", "--config", str(rules))
    assert "paused" in next(line for line in out.splitlines() if line.startswith("us-east-1/prod/web"))

    code, out, err = run("resume", "--service", "prod/web")

    assert code == 0, err
    assert out.strip() == "resumed service us-east-1/prod/web (paused: incident 42)"
    assert "the scheduled reconcile deploys the newest allowed image" in err
    code, out, err = run("resume", "--all")
    assert code == 0
    assert "nothing to resume there (paused now: nothing)" in err
    code, out, err = run("reconcile", "--config", str(rules))
    assert code == 0, err
    assert prod.images_of("prod", "web")["app"].endswith(f"@{digest}")


def test_pause_needs_exactly_one_scope_and_the_ledger(prod: World) -> None:
    code, _, err = run("pause")
    assert code == 2
    assert "give exactly one of --rule N, --service CLUSTER/SERVICE or --all" in err
    code, _, err = run("pause", "--rule", "0", "--all")
    assert code == 2
    code, _, err = run("pause", "--service", "api")
    assert code == 2
    assert "expected CLUSTER/SERVICE" in err
    code, _, err = run("pause", "--all", "--no-ledger")
    assert code == 1
    assert "pauses and approvals live in the installation's ledger: drop --no-ledger" in err
    code, out, err = run("pause", "--all", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["paused"] == {"scope": "all", "reason": f"by {CALLER}", "by": CALLER}
    code, out, err = run("resume", "--all", "--dry-run")
    assert (code, out) == (0, "")
    assert "nothing to resume there (paused now: nothing)" in err


def test_a_deploy_by_hand_respects_a_pause_too(prod: World) -> None:
    prod.push("shop/api", "v1", "v1")
    run("pause", "--service", "prod/api", "--reason", "freeze")

    code, _, err = run("deploy", "--cluster", "prod", "--service", "api", "--image", "shop/api:v1", "--no-wait")

    assert code == 1
    assert "Error: not deployed to us-east-1/prod/api: paused (freeze)" in err
    assert prod.images_of("prod", "api")["app"].endswith(":v0")
