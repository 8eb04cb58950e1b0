"""Wire the use cases to AWS: configuration and ledger from the environment, clients, adapters.

AUTODEPLOY_LEDGER_TABLE names the DynamoDB ledger (install sets it on the function). Without it, as in CLI use
without an installation, deploys run without the ledger and every result says so.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.core.config import Config, config_from_env, parse_config_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.fanout import DEFAULT_BATCH, FANOUT_BATCH_ENV, batch_size
from ecr_autodeploy.core.ledger_items import (
    FUNCTION_TIMEOUT_ENV,
    FUNCTION_TIMEOUT_SECONDS,
    LEDGER_TABLE_ENV,
    LOCK_LEASE_SECONDS,
    LOCK_WAIT_SECONDS,
    ROLLOUT_TIMEOUT_SECONDS,
    lock_lease,
)
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.concurrency import MAX_WORKERS
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.engine.report import Reporter

if TYPE_CHECKING:
    from ecr_autodeploy.aws.clients import Clients
    from ecr_autodeploy.core.notify import Message, NotifySettings
    from ecr_autodeploy.engine.deploy import Deployer
    from ecr_autodeploy.engine.executor import PlanRunner
    from ecr_autodeploy.engine.ports import (
        AlarmPort,
        ClusterPort,
        FanOutPort,
        GateStorePort,
        LedgerPort,
        NotifierPort,
        RegistryPort,
    )
    from ecr_autodeploy.engine.reconcile import Reconciler
    from ecr_autodeploy.engine.track import Tracker

LEDGER_ENV = LEDGER_TABLE_ENV
FUNCTION_NAME_ENV = "AWS_LAMBDA_FUNCTION_NAME"  # set by Lambda: the function can hand fan-out batches to itself
LEDGER_SUFFIX = "-ledger"  # the table install creates is NAME-ledger (core/stack.py)
TASK_ROOT_ENV = "LAMBDA_TASK_ROOT"  # where Lambda unpacks the package (and the rules install put in it)


@frozen
class EngineSettings:
    """The engine's clock and limits (tests and benchmarks turn these; the Lambda uses the defaults)."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    lock_wait: float = LOCK_WAIT_SECONDS
    lock_lease: float = LOCK_LEASE_SECONDS
    rollout_timeout: float = ROLLOUT_TIMEOUT_SECONDS
    max_workers: int = MAX_WORKERS
    fanout_batch: int = DEFAULT_BATCH  # services one invocation deploys; more go to other invocations (0: never)


def read_text(path: str) -> str:
    """Return a file's text (the reader handed to the pure config parser); raise ConfigError when it is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            path, f"not UTF-8 text (byte {err.start}: {err.object[err.start : err.start + 1]!r})"
        ) from err


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Return the configuration from a rules file, or else from the environment; raise ConfigError.

    A relative AUTODEPLOY_CONFIG path names a file of the function's package (install ships the rules there):
    it is read from LAMBDA_TASK_ROOT, the package's directory on Lambda, when that is set.
    """
    if path is not None:
        try:
            text = read_text(path)
        except OSError as err:
            raise ConfigError(path, f"cannot read: {err.strerror or err}") from err
        config = parse_config_text(text, path)
    else:
        variables = os.environ if env is None else env
        root = variables.get(TASK_ROOT_ENV, "")

        def in_package(name: str) -> str:
            return read_text(name if not root or os.path.isabs(name) else os.path.join(root, name))

        config = config_from_env(variables, in_package)
    return config  # the notify: block was parsed with the rest (Config.notify): a bad one fails at load


def build_notifier(config: Config, clients: Clients) -> NotifierPort | None:
    """Return the notifier of the config's ``notify:`` block, or None when it names no channel."""
    settings = config.notify
    if settings is None or not settings.any:
        return None
    return _FirstUse(lambda: _notifier(settings, clients))


def _notifier(settings: NotifySettings, clients: Clients) -> NotifierPort:
    from ecr_autodeploy.aws.notifier import Notifier  # urllib is imported only by functions that notify

    return Notifier(settings, clients)


class _FirstUse:
    """A notifier made on its first message: a function that never notifies never imports the notifier."""

    def __init__(self, make: Callable[[], NotifierPort]) -> None:
        self._make = make
        self._made: NotifierPort | None = None

    def notify(self, message: Message) -> Sequence[object]:
        """Deliver one message to every channel (the notifier made now if it is the first); return what happened."""
        if self._made is None:
            self._made = self._make()
        return self._made.notify(message)


@frozen
class Ports:
    """The adapters the use cases work through, made on first need (an event the function ignores makes none)."""

    cluster: ClusterPort
    registry: RegistryPort
    ledger: LedgerPort | None = None
    fanout: FanOutPort | None = None  # how fan-out batches reach other invocations (None: one process does all)
    gate_store: GateStorePort | None = None  # pauses and approvals
    alarms: AlarmPort | None = None  # CloudWatch, for hold_if_alarm


def build_app(
    config: Config,
    clients: Clients,
    *,
    env: Mapping[str, str] | None = None,
    cluster: ClusterPort | None = None,
    ledger: LedgerPort | None = None,
    notifier: NotifierPort | None = None,
    fanout: FanOutPort | None = None,
    dry_run: bool = False,
    settings: EngineSettings | None = None,
    gate_store: GateStorePort | None = None,
) -> Dispatcher:
    """Return every use case, talking to AWS (or the emulator behind the clients' endpoint_url).

    `cluster` replaces the ECS adapter (the emulator's rollouts), `ledger` the table's (fault injection),
    `notifier` the config's notifier (to capture messages), `fanout` how batches reach other invocations (on
    Lambda: the function invokes itself; elsewhere none, and one process deploys everything), `gate_store` the
    gates' items (a view of them); `env` defaults to the process environment. A dry run plans and reports, and
    changes nothing.
    """
    clients.external_ids.update(config.external_ids)  # cross-account targets assume their roles with these
    environ = os.environ if env is None else env
    table = environ.get(LEDGER_ENV) or None
    if settings is None:
        settings = EngineSettings(
            lock_lease=lock_lease(_seconds(environ.get(FUNCTION_TIMEOUT_ENV))),
            fanout_batch=batch_size(environ.get(FANOUT_BATCH_ENV)),
        )
    # The gates' items live in the same table (the one a test's or the CLI's ledger names).
    gate_table = table or getattr(ledger, "table", None)
    gate_table = gate_table if isinstance(gate_table, str) and gate_table else None

    def ports() -> Ports:
        # Imported here: an event the function ignores needs no adapter.
        from ecr_autodeploy.aws.ecr import Registry
        from ecr_autodeploy.aws.ecs import Cluster

        found = ledger
        if found is None and table:
            from ecr_autodeploy.aws.ledger import Ledger

            found = Ledger(clients, table)
        hands = fanout
        if hands is None and environ.get(FUNCTION_NAME_ENV):
            from ecr_autodeploy.aws.fanout import SelfInvoke

            hands = SelfInvoke.from_env(clients, environ)
        store = gate_store
        if store is None and gate_table is not None:
            from ecr_autodeploy.aws.gate_store import GateStore

            store = GateStore(clients, gate_table)
        alarms: AlarmPort | None = None
        if config.alarm_names:
            from ecr_autodeploy.aws.alarms import Alarms  # only rules that name alarms read CloudWatch

            alarms = Alarms(clients)
        return Ports(
            cluster if cluster is not None else Cluster(clients), Registry(clients), found, hands, store, alarms
        )

    return compose(
        config,
        ports,
        notifier=notifier if notifier is not None else build_notifier(config, clients),
        region=lambda: clients.region,
        dry_run=dry_run,
        settings=settings,
        installation=_installation(gate_table),
    )


def _command(verb: str, approval: str, *, installation: str | None, region: Callable[[], str]) -> str:
    """Return the command a person runs to approve (or reject) an approval of this installation."""
    from ecr_autodeploy.core.approvals import approval_command  # only when an approval is requested

    return approval_command(verb, approval, installation, region())


def _installation(table: str | None) -> str | None:
    """Return the installation's name, as the CLI's --name takes it (None when the table is not NAME-ledger)."""
    if not table or not table.endswith(LEDGER_SUFFIX):
        return None
    return table.removesuffix(LEDGER_SUFFIX) or None


def build_deployer(config: Config, clients: Clients, **options: Any) -> Deployer:
    """Return the deploy use case of `build_app` (same options)."""
    return build_app(config, clients, **options).deployer


def assemble(
    config: Config,
    cluster: ClusterPort,
    registry: RegistryPort,
    *,
    ledger: LedgerPort | None = None,
    notifier: NotifierPort | None = None,
    fanout: FanOutPort | None = None,
    region: Callable[[], str],
    dry_run: bool = False,
    settings: EngineSettings | None = None,
    gate_store: GateStorePort | None = None,
    alarms: AlarmPort | None = None,
    installation: str | None = None,
) -> Dispatcher:
    """Return the dispatcher of every event kind over these ports, sharing one Deployer, ledger and notifier.

    `gate_store` holds the pauses and approvals, `alarms` reads CloudWatch for hold_if_alarm, `installation`
    is the name approve commands give (None: they give none).
    """
    made = Ports(cluster, registry, ledger, fanout, gate_store, alarms)
    return compose(
        config,
        lambda: made,
        notifier=notifier,
        region=region,
        dry_run=dry_run,
        settings=settings,
        installation=installation,
    )


def compose(
    config: Config,
    ports: Callable[[], Ports],
    *,
    notifier: NotifierPort | None = None,
    region: Callable[[], str],
    dry_run: bool = False,
    settings: EngineSettings | None = None,
    installation: str | None = None,
) -> Dispatcher:
    """Return the dispatcher over the ports `ports` makes (on first need), every use case built on first use."""
    s = settings or EngineSettings()
    reporter = Reporter(notifier, dry_run=dry_run, clock=s.clock, max_workers=s.max_workers)

    def build_deployer() -> Deployer:
        # Imported here: an event the function ignores needs no use case (cold start).
        from ecr_autodeploy.engine.deploy import Deployer
        from ecr_autodeploy.engine.gather import Gather, Remembered

        p = ports()
        runner: PlanRunner
        if dry_run:
            from ecr_autodeploy.engine.dry_run import DryRunExecutor

            runner = DryRunExecutor(p.ledger, clock=s.clock, max_workers=s.max_workers)
        else:
            from ecr_autodeploy.engine.executor import Executor

            runner = Executor(p.cluster, p.ledger, clock=s.clock, lease=s.lock_lease, max_workers=s.max_workers)
        locks = None
        if p.ledger is not None and not dry_run:
            from ecr_autodeploy.engine.locks import ServiceLocks

            locks = ServiceLocks(
                p.ledger, clock=s.clock, sleep=s.sleep, wait=s.lock_wait, lease=s.lock_lease, max_workers=s.max_workers
            )
        gates = None
        if p.gate_store is not None or config.gated:
            from ecr_autodeploy.engine.gates import GateKeeper

            gates = GateKeeper(
                config,
                reporter,
                store=p.gate_store,
                ledger=p.ledger,
                alarms=p.alarms,
                command=functools.partial(_command, installation=installation, region=region),
                clock=s.clock,
                max_workers=s.max_workers,
            )
        gather = Gather(p.cluster, p.registry, max_workers=s.max_workers, remembered=Remembered())
        deployer = Deployer(config, gather, runner, reporter, ledger=p.ledger, locks=locks, gates=gates)
        if p.fanout is not None and s.fanout_batch > 0:
            from ecr_autodeploy.engine.fanout import FanOut

            deployer.fanout = FanOut(p.fanout, s.fanout_batch, max_workers=s.max_workers)
        return deployer

    def build_tracker(deployer: Deployer) -> Tracker:
        # Imported here: an image event, the hot path, needs neither the tracker nor the reconciler.
        from ecr_autodeploy.engine.rollback import Rollback
        from ecr_autodeploy.engine.track import Tracker

        chain = None
        if config.chained:
            from ecr_autodeploy.engine.chain import Chain  # promotions and waves start from a completed rollout

            chain = Chain(deployer, clock=s.clock)
        gather, locks = deployer.gather, deployer.locks
        return Tracker(
            gather,
            deployer.ledger,
            Rollback(gather, locks),
            reporter,
            clock=s.clock,
            timeout=s.rollout_timeout,
            chain=chain,
        )

    def build_reconciler(dispatcher: Dispatcher) -> Reconciler:
        from ecr_autodeploy.engine.gather import Gather, RevisionCache
        from ecr_autodeploy.engine.reconcile import Reconciler
        from ecr_autodeploy.engine.survey import Survey

        deployer = dispatcher.deployer
        # The survey's own gather remembers revisions between runs of a warm function.
        cached = Gather(
            deployer.gather.cluster, deployer.gather.registry, max_workers=s.max_workers, cache=RevisionCache()
        )
        return Reconciler(deployer, Survey(config, cached, deployer.ledger), dispatcher.tracker, clock=s.clock)

    return Dispatcher(reporter, build_deployer, build_tracker, build_reconciler, region)


def _seconds(value: str | None) -> float:
    """Return the function timeout the environment names (install sets it), else install's default."""
    if not value:
        return FUNCTION_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= 900:
        raise ConfigError(
            "environment", f"{value!r}: expected the function's timeout, 1 to 900 seconds", field=FUNCTION_TIMEOUT_ENV
        )
    return seconds
