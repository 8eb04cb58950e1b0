"""Reconcile and status for 100 mapped services: AWS calls ÷ one call per service.

The fleet: 10 repositories, each deployed to 10 services (two clusters), every service with its own task
definition, the ledger on. A first reconcile deploys the newest image everywhere (setup); then ``status`` (the
survey alone) and a steady-state reconcile (nothing to deploy: the every-15-minutes case) are counted, and a
reconcile after one new image in every repository (100 services drifted). Calls are counted with a botocore
``before-send`` hook on every client the wired function makes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bench.app import create_ledger, lambda_app
from bench.fleet import REGION, Fleet
from bench.instrument import Meter
from bench.measure import Figure
from bench.server import moto_server

REPOSITORIES = 10
PER_REPOSITORY = 10
SERVICES = REPOSITORIES * PER_REPOSITORY
CLUSTERS = ("recon-a", "recon-b")


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the status and reconcile call-count figures."""
    del reps, profile_dir  # counts: one run each, the details list every call
    with moto_server() as endpoint:
        fleet = Fleet(endpoint)
        repositories = [f"recon/app{r}" for r in range(REPOSITORIES)]
        for r, repository in enumerate(repositories):
            names = [f"app{r}-svc{s}" for s in range(PER_REPOSITORY)]
            half = PER_REPOSITORY // 2
            fleet.build(CLUSTERS[0], repository, names[:half])
            fleet.build(CLUSTERS[1], repository, names[half:])
            fleet.push(repository, "v1")
        meter = Meter()
        app = lambda_app(endpoint, meter, _rules(), ledger=create_ledger(endpoint))
        first = _statuses(app.reconciler.run(REGION).to_dict())
        assert first["deployed"] == SERVICES, first
        meter.reset()

        surveyed = app.reconciler.survey.run(REGION)
        assert len(surveyed.rows) == SERVICES, len(surveyed.rows)
        status_calls = meter.reset()
        steady = _statuses(app.reconciler.run(REGION).to_dict())
        assert steady.get("deployed", 0) == 0, steady
        steady_calls = meter.reset()
        for repository in repositories:
            fleet.push(repository, "v2")
        drifted = _statuses(app.reconciler.run(REGION).to_dict())
        assert drifted["deployed"] == SERVICES, drifted
        drift_calls = meter.reset()
    return [
        _figure("status_calls", f"`status` for {SERVICES} mapped services", status_calls),
        _figure("reconcile_calls", f"Reconcile, nothing to do, {SERVICES} services", steady_calls),
        _figure(
            "reconcile_drift_calls",
            f"Reconcile deploying {SERVICES} drifted services",
            drift_calls,
            notes="includes the 5 ECS/ECR deploy calls and the ledger writes of each of the 100 deployments",
        ),
    ]


def _rules() -> dict[str, Any]:
    return {
        "rules": [
            {
                "repository": r"re:recon/(?P<app>app\d+)",
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


def _figure(name: str, title: str, calls: Counter[str], notes: str = "") -> Figure:
    return Figure(
        name,
        title,
        float(sum(calls.values())),
        float(SERVICES),
        "calls",
        1.0,
        baseline_label="one call per service",
        notes=notes,
        details={"calls": dict(sorted(calls.items()))},
    )
