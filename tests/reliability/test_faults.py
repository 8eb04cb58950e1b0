"""Fault injection: 200 events through the real Clients and Deployer while 30 % of AWS requests fail transiently.

Faults (throttling, 500 after the write, 503, connection reset, read timeout after the write) hit every AWS
request of the deploy path, the ledger's DynamoDB writes included; the test runs with the ledger (as install
configures the function) and without it (as the CLI runs without an installation). botocore keeps its standard
retry rules (attempts, which errors, the retry quota) with zero backoff. Under a storm this long the retry quota
runs out, so most faults reach the handler: delivery is replayed as Lambda does it (two retries, a minute and
two minutes later, then the dead-letter queue) on a simulated clock, and the DLQ is redriven an hour later,
once the storm is over, from a fresh container.

What must hold:
* nothing is lost: every event's digest ends up running on each of its services;
* no double deployment: no service is switched to a revision of the same event twice;
* no service is left on a half-registered revision. A revision is *complete* when it carries both engine tags
  (``ecr-autodeploy:digest`` = the event's digest, ``ecr-autodeploy:event`` = the event), the event's container
  is pinned to that digest, every other container keeps either its original image or the digest its own event
  brought, and every other field and tag equals the service's original task definition. Every revision the
  engine registered must be complete, every service must end on one, and a revision no service ever used (the
  RegisterTaskDefinition answer was lost and a retry registered again) is tolerated only when its event's
  digest was deployed to its service after all.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import Config, parse_config
from ecr_autodeploy.core.planning import DIGEST_TAG, EVENT_TAG, OWN_TAGS, READ_ONLY_FIELDS
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import LEDGER_ENV, EngineSettings, build_deployer
from tests.functional.world import World
from tests.reliability.delivery import Delivery, SimulatedClock
from tests.reliability.faults import FaultyClients, Injector, Write

pytestmark = pytest.mark.slow  # 200 events through a fault storm: about a minute
SEED = 20261126
FAULT_RATE = 0.30
EVENTS = 200
CLUSTERS = ("blue", "green")
SERVICES = 40
CONTAINERS = EVENTS // SERVICES  # one repository per container; each image goes to the service in both clusters
RULES = {
    "rules": [
        {
            "repository": r"re:fleet/(?P<service>s\d+)/c\d+",
            "tags": ["*"],
            "targets": [{"cluster": cluster, "service": "{service}"} for cluster in CLUSTERS],
        }
    ]
}


@dataclass(frozen=True)
class Arrival:
    """One image arriving: the event, and the repository, digest, container and service it is for."""

    repository: str
    digest: str
    container: str
    service: str
    event: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["id"])


@dataclass(frozen=True)
class Fleet:
    """The services before any event, and every arrival (in delivery order)."""

    world: World
    arrivals: tuple[Arrival, ...]
    originals: Mapping[tuple[str, str], Mapping[str, Any]]

    def arrival(self, event_id: str) -> Arrival | None:
        return next((a for a in self.arrivals if a.event_id == event_id), None)

    def pinned(self, repository: str, digest: str) -> str:
        return self.world.image_uri(repository, f"@{digest}")


def build_fleet(world: World) -> Fleet:
    """Create the clusters, repositories and services; push one image per repository."""
    rng = random.Random(SEED)
    for cluster in CLUSTERS:
        world.cluster(cluster)
    arrivals: list[Arrival] = []
    for s in range(SERVICES):
        service = f"s{s:02d}"
        repositories = {f"c{c}": f"fleet/{service}/c{c}" for c in range(CONTAINERS)}
        for repository in repositories.values():
            world.repository(repository)
        for cluster in CLUSTERS:
            world.service(cluster, service, {name: world.image_uri(repo, ":v0") for name, repo in repositories.items()})
        for container, repository in repositories.items():
            digest = world.push(repository, "v1", repository)
            event = events.replicate(repository, digest, "v1")
            event["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
            arrivals.append(Arrival(repository, digest, container, service, event))
    originals = {(c, f"s{s:02d}"): world.running(c, f"s{s:02d}") for c in CLUSTERS for s in range(SERVICES)}
    # Interleave the services so that one service's events are spread over the run.
    return Fleet(world, tuple(sorted(arrivals, key=lambda a: (a.container, a.service))), originals)


def tags_of(params: Mapping[str, Any]) -> dict[str, str]:
    return {str(t["key"]): str(t["value"]) for t in params.get("tags", [])}


def revision_problems(fleet: Fleet, params: Mapping[str, Any]) -> list[str]:
    """Return why a registered revision is not a complete pin (empty when it is)."""
    family = str(params.get("family"))
    tags = tags_of(params)
    arrival = fleet.arrival(tags.get(EVENT_TAG, ""))
    if arrival is None:
        return [f"{family}: tag {EVENT_TAG} names no event: {tags}"]
    original = fleet.originals[(family.split("-", 1)[0], arrival.service)]
    problems = []
    if tags.get(DIGEST_TAG) != arrival.digest:
        problems.append(f"{family}: {DIGEST_TAG}={tags.get(DIGEST_TAG)} but its event brought {arrival.digest}")
    own_tags = [{"key": k, "value": v} for k, v in tags.items() if k not in OWN_TAGS]
    if own_tags != original["_tags"]:
        problems.append(f"{family}: tags {own_tags} instead of the service's own {original['_tags']}")
    for container in params["containerDefinitions"]:
        name, repository = container["name"], f"fleet/{arrival.service}/{container['name']}"
        delivered = next(a.digest for a in fleet.arrivals if a.repository == repository)
        allowed = {fleet.world.image_uri(repository, ":v0"), fleet.pinned(repository, delivered)}
        if name == arrival.container:
            allowed = {fleet.pinned(repository, arrival.digest)}
        if container["image"] not in allowed:
            problems.append(f"{family}: container {name} has image {container['image']}")
    others = {k: v for k, v in params.items() if k not in ("containerDefinitions", "tags")}
    expected = {k: v for k, v in original.items() if k not in (*READ_ONLY_FIELDS, "containerDefinitions", "_tags")}
    if others != expected:
        problems.append(f"{family}: fields other than images differ: {others} != {expected}")
    strip = [{k: v for k, v in c.items() if k != "image"} for c in params["containerDefinitions"]]
    if strip != [{k: v for k, v in c.items() if k != "image"} for c in original["containerDefinitions"]]:
        problems.append(f"{family}: container fields other than the image differ from the original")
    return problems


@dataclass(frozen=True)
class Verdict:
    """What the emulator ended up with, judged."""

    registered: Mapping[str, Mapping[str, Any]]
    unused: list[str]
    doubles: dict[tuple[str, str, str], int]
    half_registered: list[str]
    lost: list[str]


def judge(fleet: Fleet, writes: list[Write]) -> Verdict:
    """Replay what the emulator carried out, in order, against the final state of every service."""
    registered = {
        str(w.reply["taskDefinition"]["taskDefinitionArn"]): w.params
        for w in writes
        if w.operation == "RegisterTaskDefinition"
    }
    current = {key: str(td["taskDefinitionArn"]) for key, td in fleet.originals.items()}
    switches: Counter[tuple[str, str, str]] = Counter()
    for w in writes:
        if w.operation == "UpdateService":
            key = (str(w.params["cluster"]), str(w.params["service"]))
            arn = str(w.params["taskDefinition"])
            if arn != current[key]:
                current[key] = arn
                switches[(*key, tags_of(registered.get(arn, {})).get(EVENT_TAG, f"not the engine's: {arn}"))] += 1
    used = {str(w.params["taskDefinition"]) for w in writes if w.operation == "UpdateService"}
    half = [problem for params in registered.values() for problem in revision_problems(fleet, params)]
    ecs = fleet.world.ecs()
    for cluster, service in fleet.originals:
        running = str(ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"])
        if running not in registered:
            half.append(f"{cluster}/{service} runs {running}, which the engine did not register")
    final = {key: fleet.world.images_of(*key) for key in fleet.originals}
    lost = [
        f"{cluster}/{a.service} {a.container} is not on {a.digest}"
        for a in fleet.arrivals
        for cluster in CLUSTERS
        if final[(cluster, a.service)][a.container] != fleet.pinned(a.repository, a.digest)
    ]
    return Verdict(
        registered=registered,
        unused=[arn for arn in registered if arn not in used],
        doubles={key: n for key, n in switches.items() if n > 1},
        half_registered=half,
        lost=lost,
    )


LEDGER_TABLE = "ecr-autodeploy-ledger"


def deployer(config: Config, clients: Clients, clock: SimulatedClock, ledger: bool) -> Deployer:
    """Return the Deployer as wiring builds it (with the ledger when installed), on the simulated clock."""
    env = {LEDGER_ENV: LEDGER_TABLE} if ledger else {}
    return build_deployer(config, clients, env=env, settings=EngineSettings(clock=clock.time, sleep=clock.sleep))


def create_ledger_table(world: World) -> None:
    dynamodb = boto3.client("dynamodb", region_name=world.region)
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.mark.parametrize("ledger", [True, False], ids=["ledger", "no-ledger"])
def test_200_events_under_30_percent_transient_faults_are_all_deployed_once(world: World, ledger: bool) -> None:
    fleet = build_fleet(world)
    if ledger:
        create_ledger_table(world)
    config = parse_config(RULES, "fleet-rules")
    clock = SimulatedClock()
    storm = Injector(seed=SEED, rate=FAULT_RATE, serialize=True)
    delivery = Delivery(deployer(config, FaultyClients(storm, region=world.region), clock, ledger).handle, clock.sleep)

    for arrival in fleet.arrivals:
        delivery.deliver(arrival.event)
        clock.sleep(1.0)
    dead_lettered = len(delivery.dead_letters)
    invocations = delivery.attempts
    # The redrive comes after the storm, an hour later, in a fresh container (fresh clients, fresh retry quota).
    clock.sleep(3600.0)
    calm = Injector(seed=SEED, rate=0.0, serialize=True)
    delivery.handle = deployer(config, FaultyClients(calm, region=world.region), clock, ledger).handle
    still_failing = delivery.redrive()
    verdict = judge(fleet, storm.writes + calm.writes)

    statuses = {a.event_id: [o.status for o in delivery.results[a.event_id].outcomes] for a in fleet.arrivals}
    tally = "\n".join(
        [
            f"fault injection (seed {SEED}, ledger {'on' if ledger else 'off'}): {EVENTS} events, each to "
            f"{len(CLUSTERS)} services; {FAULT_RATE:.0%} of requests faulted; Lambda: 1 try + {delivery.retries} "
            "retries, then the DLQ",
            f"  API calls           {sum(storm.calls.values())}  {dict(sorted(storm.calls.items()))}",
            f"  requests sent       {sum(storm.sent.values())} (botocore retries included)",
            f"  faults injected     {sum(storm.faults.values())}  {dict(sorted(storm.faults.items()))}",
            f"  invocations         {invocations} in the storm, {delivery.attempts - invocations} on redrive; "
            f"errors raised: {dict(delivery.errors)}",
            f"  deployed in storm   {EVENTS - dead_lettered}",
            f"  dead-lettered       {dead_lettered}, redriven {delivery.redriven}, failed again {len(still_failing)}",
            f"  final outcomes      {dict(Counter(s for v in statuses.values() for s in v))}",
            f"  engine revisions    {len(verdict.registered)} (never used by a service: {len(verdict.unused)})",
            f"  lost deployments    {len(verdict.lost)}",
            f"  double deployments  {len(verdict.doubles)}",
            f"  half-registered     {len(verdict.half_registered)}",
        ]
    )
    print(tally)

    assert storm.faults, tally
    assert dead_lettered, f"the storm never reached the DLQ, so the redrive path went untested\n{tally}"
    assert not still_failing, tally
    assert all(
        set(s) <= {"deployed", "unchanged", "duplicate"} and len(s) == len(CLUSTERS) for s in statuses.values()
    ), tally
    assert not verdict.lost, f"{tally}\n{verdict.lost[:10]}"
    assert not verdict.doubles, f"{tally}\n{verdict.doubles}"
    assert not verdict.half_registered, f"{tally}\n{verdict.half_registered[:10]}"
    for arn in verdict.unused:
        owner = fleet.arrival(tags_of(verdict.registered[arn])[EVENT_TAG])
        assert owner is not None, arn
        cluster = str(verdict.registered[arn]["family"]).split("-", 1)[0]
        running = world.images_of(cluster, owner.service)[owner.container]
        assert running == fleet.pinned(owner.repository, owner.digest), f"{tally}\nunused {arn} never deployed"
