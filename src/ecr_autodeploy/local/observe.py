"""What the demo reads back from the emulator to check a scenario: images, task definitions, deployments."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.local.world import ServiceSpec, World

ServiceShape = tuple[str, tuple[str, ...], int]  # (task definition family:revision, deployment ids, revisions)


def task_definitions(clients: Clients, world: World, services: Sequence[ServiceSpec] | None = None) -> dict[str, str]:
    """Return each service's current task definition ARN by label (the world's `services` unless others are named)."""
    ecs = clients.ecs(world.deploy_region)
    specs = list(services or world.services)
    found: dict[str, str] = {}
    for cluster in dict.fromkeys(s.cluster for s in specs):
        names = [s.name for s in specs if s.cluster == cluster]
        for svc in ecs.describe_services(cluster=cluster, services=names)["services"]:
            spec = next(s for s in specs if s.cluster == cluster and s.name == svc["serviceName"])
            found[spec.label] = svc["taskDefinition"]
    return found


def app_images(clients: Clients, world: World, services: Sequence[ServiceSpec] | None = None) -> dict[str, str]:
    """Return the image each service's app container runs now, by label (of the world's `services` unless others
    are named)."""
    cluster = Cluster(clients)
    arns = task_definitions(clients, world, services)
    images = {}
    for spec in services or world.services:
        where = ServiceRef(world.deploy_region, spec.cluster, spec.name)
        containers = {c["name"]: c["image"] for c in cluster.task_definition(where, arns[spec.label]).containers}
        images[spec.label] = str(containers[spec.container])
    return images


def service_states(clients: Clients, world: World) -> dict[str, ServiceShape]:
    """Return per service its task definition, its deployment ids and how many revisions its family has."""
    ecs = clients.ecs(world.deploy_region)
    found = ecs.describe_services(cluster=world.cluster, services=[s.name for s in world.services])["services"]
    states = {}
    for svc in found:
        family = svc["taskDefinition"].rsplit("/", 1)[-1].split(":")[0]
        revisions = len(ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"])
        ids = tuple(d["id"] for d in svc.get("deployments", []))
        states[svc["serviceName"]] = (svc["taskDefinition"].rsplit("/", 1)[-1], ids, revisions)
    return states


def wait_steady_on(
    clients: Clients,
    world: World,
    wanted: Mapping[str, str],
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, bool]:
    """Wait until each service runs the wanted task definition with one COMPLETED deployment; return which did."""
    deadline = clock() + timeout
    done: dict[str, bool] = dict.fromkeys(wanted, False)
    ecs = clients.ecs(world.deploy_region)
    while not all(done.values()) and clock() < deadline:
        for svc in ecs.describe_services(cluster=world.cluster, services=list(wanted))["services"]:
            deployments = svc.get("deployments", [])
            done[svc["serviceName"]] = (
                svc["taskDefinition"] == wanted[svc["serviceName"]]
                and len(deployments) == 1
                and deployments[0].get("rolloutState") == "COMPLETED"
            )
        if not all(done.values()):
            sleep(interval)
    return done
