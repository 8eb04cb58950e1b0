"""Switching SnapStart on or off moves the rules' invoke permission between the function and its alias: none stale.

moto keeps one resource policy for a function and its aliases (AWS keeps one per qualifier), so what is checked
here is the calls install makes: each switch removes the grant from the scope the rules no longer invoke.
"""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.aws.installer import InstallOptions, install
from ecr_autodeploy.core.stack import ALIAS
from tests.functional.installs import CONFIG, NAME, PACKAGE, REGION, RecordingClients, bootstrapped, shop
from tests.functional.world import World

SIDS = sorted(f"{rule}-invoke" for rule in (NAME, f"{NAME}-deployments", f"{NAME}-reconcile"))


def removed(clients: RecordingClients) -> list[tuple[str, Any]]:
    """Return (statement id, qualifier) of every RemovePermission call, and forget the calls."""
    found = sorted(
        (params["StatementId"], params.get("Qualifier"))
        for action, params in clients.calls
        if action == "lambda:RemovePermission"
    )
    clients.calls.clear()
    return found


def test_snapstart_on_then_off_removes_the_grant_the_rules_no_longer_use(world: World) -> None:
    shop(world)
    clients = bootstrapped(RecordingClients(region=REGION))
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert removed(clients) == []

    report = install(clients, CONFIG, InstallOptions(snapstart=True), PACKAGE)
    assert removed(clients) == [(sid, None) for sid in SIDS]  # the function's own grants go: rules invoke the alias
    details = [d.detail for d in report.steps if d.step.operation == "add_permission"]
    assert all("removed the stale permission on the unqualified function" in d for d in details)

    install(clients, CONFIG, InstallOptions(snapstart=False), PACKAGE)
    assert (SIDS[0], ALIAS) in removed(clients)  # the alias's grants go: rules invoke the function again

    install(clients, CONFIG, InstallOptions(snapstart=False), PACKAGE)
    assert removed(clients) == []  # nothing stale is left to remove
