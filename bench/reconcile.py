"""Reconcile and status for 100 mapped services: AWS calls ÷ the bare boto3 calls a script makes for the same.

The fleet: 10 repositories, each deployed to 10 services (two clusters), every service with its own task
definition, the ledger on. A first reconcile deploys the newest image everywhere (setup). The emulator never
finishes a rollout, so its deployments would stay open for ever; in AWS, ECS reports each one COMPLETED within
minutes and the function records that. The benchmark counts a reconcile in that state too ("events lost": every
record still open), then delivers the ECS ``SERVICE_DEPLOYMENT_COMPLETED`` events to the function as AWS does.
Then it counts ``status`` (the survey alone, by a freshly wired function: nothing remembered, as in the CLI's
process), a steady-state reconcile (nothing to deploy: the every-15-minutes case) in a fresh function and again
in the same, warm, function, and a reconcile in a fresh function after one new image in every repository (100
services drifted). Calls are counted with a botocore ``before-send`` hook on every client the wired function makes.

The baselines are measured the same way (bench/bare.py): for status and a reconcile with nothing to do, the reads
a script needs for the same view of the same fleet (bare.survey); for the drift, a script that reads so and pins
each drifted service (bare.reconcile), run on a twin fleet (the same repositories, images and services in two
other clusters, pinned by the script in the first round as the function pinned its own).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bench import bare
from bench.app import create_ledger, lambda_app
from bench.fleet import ACCOUNT, REGION, Fleet
from bench.instrument import Meter, bare_client
from bench.measure import Figure
from bench.server import moto_server
from ecr_autodeploy.local import events

REPOSITORIES = 10
PER_REPOSITORY = 10
SERVICES = REPOSITORIES * PER_REPOSITORY
CLUSTERS = ("recon-a", "recon-b")
TWINS = ("recon-bare-a", "recon-bare-b")
READS_TARGET = 1.05  # the script's reads, and the function's own ledger reads (one BatchGetItem per 100 services)


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the status and reconcile call-count figures."""
    del reps, profile_dir  # counts: one run each, the details list every call
    with moto_server() as server:
        endpoint = server.endpoint
        fleet = Fleet(endpoint)
        repositories = [f"recon/app{r}" for r in range(REPOSITORIES)]
        services: dict[str, list[str]] = {}
        twins: dict[str, list[str]] = {}
        for r, repository in enumerate(repositories):
            names = [f"app{r}-svc{s}" for s in range(PER_REPOSITORY)]
            half = PER_REPOSITORY // 2
            for clusters, into in ((CLUSTERS, services), (TWINS, twins)):
                fleet.build(clusters[0], repository, names[:half])
                fleet.build(clusters[1], repository, names[half:])
                into.setdefault(clusters[0], []).extend(names[:half])
                into.setdefault(clusters[1], []).extend(names[half:])
            fleet.push(repository, "v1")
        meter, bare_meter = Meter(), Meter()
        ecs, ecr = bare_client("ecs", endpoint, bare_meter), bare_client("ecr", endpoint, bare_meter)
        table = create_ledger(endpoint)

        def fresh() -> Any:
            return lambda_app(endpoint, meter, _rules(), ledger=table)

        app = fresh()
        first = app.reconciler.run(REGION).to_dict()
        assert _statuses(first)["deployed"] == SERVICES, _statuses(first)
        assert bare.reconcile(ecs, ecr, twins, repositories) == SERVICES
        meter.reset()

        lost = _statuses(fresh().reconciler.run(REGION).to_dict())
        assert lost["in_progress"] == SERVICES, lost
        lost_calls = meter.reset()
        server.settle()  # ECS completes the rollouts (and their service deployments), then says so
        for outcome in first["outcomes"]:
            judged = _statuses(app.handle(_completed(outcome)).to_dict())
            assert judged == {"completed": 1}, judged
        meter.reset()

        surveyed = fresh().reconciler.survey.run(REGION)
        assert len(surveyed.rows) == SERVICES, len(surveyed.rows)
        status_calls = meter.reset()
        bare_meter.reset()
        assert len(bare.survey(ecs, ecr, services, repositories).revisions) == SERVICES
        survey_calls = bare_meter.reset()
        warm = fresh()
        steady_calls = _steady(warm, meter)
        warm_calls = _steady(warm, meter)
        for repository in repositories:
            fleet.push(repository, "v2")
        drifted = _statuses(fresh().reconciler.run(REGION).to_dict())
        assert drifted["deployed"] == SERVICES, drifted
        drift_calls = meter.reset()
        bare_meter.reset()
        assert bare.reconcile(ecs, ecr, twins, repositories) == SERVICES
        bare_drift_calls = bare_meter.reset()
    return [
        _figure("status_calls", f"`status` for {SERVICES} mapped services", status_calls, survey_calls),
        _figure(
            "reconcile_calls",
            f"Reconcile, nothing to do, {SERVICES} services (fresh function)",
            steady_calls,
            survey_calls,
        ),
        _figure(
            "reconcile_warm_calls",
            f"Reconcile, nothing to do, {SERVICES} services (warm function)",
            warm_calls,
            survey_calls,
            notes="the same function's second run: task definitions already read are remembered",
        ),
        _figure(
            "reconcile_lost_events_calls",
            f"Reconcile, nothing to do, {SERVICES} rollouts' ECS events lost",
            lost_calls,
            survey_calls,
            notes="every deployment record still open (the emulator's state without the ECS events)",
            target=1.0,
        ),
        _figure(
            "reconcile_drift_calls",
            f"Reconcile deploying {SERVICES} drifted services",
            drift_calls,
            bare_drift_calls,
            notes="the bare script pins without a ledger: no lock, claim, record or drift notice",
            label="bare boto3 survey + pins",
            target=1.0,
        ),
    ]


def _steady(app: Any, meter: Meter) -> Counter[str]:
    """Return the calls of a reconcile that finds nothing to do."""
    statuses = _statuses(app.reconciler.run(REGION).to_dict())
    assert statuses == {"unchanged": SERVICES}, statuses
    return meter.reset()


def _completed(outcome: dict[str, Any]) -> dict[str, Any]:
    """Return the ECS event saying this outcome's deployment COMPLETED, as ECS sends it."""
    event: dict[str, Any] = events.deployment_event(
        outcome["deployment_id"], "COMPLETED", outcome["service"], outcome["cluster"], region=REGION, account=ACCOUNT
    )
    return event


def _rules() -> dict[str, Any]:
    return {
        "rules": [
            {
                "repository": r"re:recon/(?P<app>app\d+)",
                "tags": ["*"],
                "targets": [
                    {"cluster": cluster, "service": f"{{app}}-svc{s}"}
                    for cluster, services in (
                        (CLUSTERS[0], range(PER_REPOSITORY // 2)),
                        (CLUSTERS[1], range(PER_REPOSITORY // 2, PER_REPOSITORY)),
                    )
                    for s in services
                ],
            }
        ]
    }


def _statuses(result: dict[str, Any]) -> Counter[str]:
    return Counter(str(o["status"]) for o in result["outcomes"])


def _figure(
    name: str,
    title: str,
    calls: Counter[str],
    baseline: Counter[str],
    notes: str = "",
    label: str = "bare boto3 reads of the same",
    target: float = READS_TARGET,
) -> Figure:
    return Figure(
        name,
        title,
        float(sum(calls.values())),
        float(sum(baseline.values())),
        "calls",
        target,
        baseline_label=label,
        notes=notes,
        details={"calls": dict(sorted(calls.items())), "baseline": dict(sorted(baseline.items()))},
    )
