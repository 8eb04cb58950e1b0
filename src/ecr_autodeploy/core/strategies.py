"""A rule's ``deployment:`` block: which of ECS's own strategies a deploy sets, checked against what ECS accepts.

    deployment:
      strategy: CANARY              # ROLLING | BLUE_GREEN | LINEAR | CANARY; absent: the service's own
      canary_percent: 10            # CANARY: 0.1 to 100, in steps of 0.1 (ECS default 5)
      canary_bake_minutes: 5        # CANARY: 0 to 1440 (ECS default 10)
      linear_percent: 10            # LINEAR: 3 to 100, in steps of 0.1 (ECS default 10)
      linear_bake_minutes: 6        # LINEAR: 0 to 1440 (ECS default 6)
      bake_minutes: 10              # BLUE_GREEN (required there), LINEAR, CANARY: 0 to 1440
      alarms: [checkout-5xx]        # CloudWatch alarm names; ECS fails the deployment when one goes to ALARM
      alarm_rollback: true          # ... and rolls it back (default true)
      pause: [POST_TEST_TRAFFIC_SHIFT]   # PAUSE lifecycle hooks (native strategies); `ecr-autodeploy continue`
      pause_timeout_minutes: 1440   # 1 to 20160 (ECS default 1440)
      pause_timeout_action: ROLLBACK     # ROLLBACK (ECS default) | CONTINUE

The settings are applied in the UpdateService that starts the deployment, merged into the service's current
deploymentConfiguration (its circuit breaker, percentages and Lambda hooks are kept).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ecr_autodeploy.core.fields import Reader, expected, kind_of
from ecr_autodeploy.core.values import frozen

STRATEGY_NAMES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
DEPLOYMENT_KEYS = (
    "strategy",
    "canary_percent",
    "canary_bake_minutes",
    "linear_percent",
    "linear_bake_minutes",
    "bake_minutes",
    "alarms",
    "alarm_rollback",
    "pause",
    "pause_timeout_minutes",
    "pause_timeout_action",
)
# PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT (Lambda hooks only).
PAUSE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
TIMEOUT_ACTIONS = ("ROLLBACK", "CONTINUE")
NATIVE_STRATEGIES = frozenset({"BLUE_GREEN", "LINEAR", "CANARY"})  # ECS's own strategies (besides ROLLING)
MAX_BAKE_MINUTES = 1440
MAX_HOOK_MINUTES = 20160
# ECS's defaults, for the waits a deployment plans when the configuration leaves them out.
DEFAULT_CANARY_BAKE = 10
DEFAULT_LINEAR_STEP = 10.0
DEFAULT_LINEAR_BAKE = 6
_ONLY_WITH = {
    "canary_percent": ("CANARY",),
    "canary_bake_minutes": ("CANARY",),
    "linear_percent": ("LINEAR",),
    "linear_bake_minutes": ("LINEAR",),
    "bake_minutes": tuple(sorted(NATIVE_STRATEGIES)),
    "pause": tuple(sorted(NATIVE_STRATEGIES)),
}


@frozen
class DeploymentSettings:
    """What a rule sets on the service's deploymentConfiguration; None (or empty) leaves the service's value."""

    strategy: str | None = None
    canary_percent: float | None = None
    canary_bake_minutes: int | None = None
    linear_percent: float | None = None
    linear_bake_minutes: int | None = None
    bake_minutes: int | None = None
    alarms: tuple[str, ...] = ()
    alarm_rollback: bool = True
    pause: tuple[str, ...] = ()
    pause_timeout_minutes: int | None = None
    pause_timeout_action: str | None = None


def parse_deployment(value: object, r: Reader, path: str = "deployment") -> DeploymentSettings | None:
    """Return a rule's deployment settings (None when absent); raise ConfigError naming the rule and field."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise r.fail(path, expected("a mapping", value))
    if not value:
        raise r.fail(path, "empty (leave deployment out to keep the service's own strategy)")
    r.check_keys(value, DEPLOYMENT_KEYS, f"{path}.")
    strategy = _choice(value.get("strategy"), STRATEGY_NAMES, f"{path}.strategy", r)
    for key, allowed in _ONLY_WITH.items():
        if value.get(key) is not None and strategy not in allowed:
            need = " or ".join(allowed)
            raise r.fail(f"{path}.{key}", f"only applies with strategy {need} (strategy is {strategy or 'not set'})")
    if strategy == "BLUE_GREEN" and value.get("bake_minutes") is None:
        raise r.fail(f"{path}.bake_minutes", "missing (ECS requires bakeTimeInMinutes with BLUE_GREEN)")
    alarms = parse_alarm_names(value, "alarms", f"{path}.alarms", r)
    if "alarms" in value and not alarms:
        raise r.fail(f"{path}.alarms", "empty list (leave alarms out to keep the service's alarms)")
    rollback = r.flag(value, "alarm_rollback", f"{path}.alarm_rollback")
    if rollback is not None and not alarms:
        raise r.fail(f"{path}.alarm_rollback", "only applies with alarms")
    pause = r.text_list(value, "pause", f"{path}.pause") or ()
    for i, stage in enumerate(pause):
        if stage not in PAUSE_STAGES:
            raise r.fail(f"{path}.pause[{i}]", f"expected one of {', '.join(PAUSE_STAGES)}, got {stage!r}")
    for key in ("pause_timeout_minutes", "pause_timeout_action"):
        if value.get(key) is not None and not pause:
            raise r.fail(f"{path}.{key}", "only applies with pause")

    def minutes(key: str, low: int = 0, high: int = MAX_BAKE_MINUTES) -> int | None:
        return _minutes(value.get(key), low, high, f"{path}.{key}", r)

    return DeploymentSettings(
        strategy=strategy,
        canary_percent=_percent(value.get("canary_percent"), 0.1, f"{path}.canary_percent", r),
        canary_bake_minutes=minutes("canary_bake_minutes"),
        linear_percent=_percent(value.get("linear_percent"), 3.0, f"{path}.linear_percent", r),
        linear_bake_minutes=minutes("linear_bake_minutes"),
        bake_minutes=minutes("bake_minutes"),
        alarms=alarms,
        alarm_rollback=rollback is not False,
        pause=pause,
        pause_timeout_minutes=minutes("pause_timeout_minutes", 1, MAX_HOOK_MINUTES),
        pause_timeout_action=_choice(
            value.get("pause_timeout_action"), TIMEOUT_ACTIONS, f"{path}.pause_timeout_action", r
        ),
    )


def parse_alarm_names(data: Mapping[str, Any], key: str, path: str, r: Reader) -> tuple[str, ...]:
    """Return the CloudWatch alarm names listed at `key` (none when absent); raise ConfigError naming the entry."""
    names = r.text_list(data, key, path) or ()
    for i, name in enumerate(names):
        if len(name) > 255 or "," in name:
            raise r.fail(f"{path}[{i}]", "not a CloudWatch alarm name (at most 255 characters, no ',')")
    return names


def _choice(value: object, allowed: tuple[str, ...], path: str, r: Reader) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in allowed:
        return value.upper()
    shown = repr(value) if isinstance(value, str) else kind_of(value)
    raise r.fail(path, f"expected one of {', '.join(allowed)}, got {shown}")


def _percent(value: object, low: float, path: str, r: Reader) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise r.fail(path, expected(f"a percentage from {low:g} to 100", value))
    tenths = value * 10
    if not low <= value <= 100 or abs(tenths - round(tenths)) > 1e-6:
        raise r.fail(path, f"expected {low:g} to 100 in steps of 0.1 (what ECS accepts), got {value!r}")
    return round(float(value), 1)


def _minutes(value: object, low: int, high: int, path: str, r: Reader) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise r.fail(path, expected(f"whole minutes from {low} to {high}", value))
    if not low <= value <= high:
        raise r.fail(path, f"expected {low} to {high} minutes (what ECS accepts), got {value}")
    return value


def deployment_configuration(settings: DeploymentSettings, current: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the service's deploymentConfiguration with the settings applied, or None when nothing changes."""
    config: dict[str, Any] = {k: v for k, v in current.items()}
    s = settings
    if s.strategy is not None:
        config["strategy"] = s.strategy
        # A strategy's own block is refused with another strategy.
        if s.strategy != "CANARY":
            config.pop("canaryConfiguration", None)
        if s.strategy != "LINEAR":
            config.pop("linearConfiguration", None)
    if s.canary_percent is not None or s.canary_bake_minutes is not None:
        block = dict(config.get("canaryConfiguration") or {})
        _put(block, "canaryPercent", s.canary_percent)
        _put(block, "canaryBakeTimeInMinutes", s.canary_bake_minutes)
        config["canaryConfiguration"] = block
    if s.linear_percent is not None or s.linear_bake_minutes is not None:
        block = dict(config.get("linearConfiguration") or {})
        _put(block, "stepPercent", s.linear_percent)
        _put(block, "stepBakeTimeInMinutes", s.linear_bake_minutes)
        config["linearConfiguration"] = block
    _put(config, "bakeTimeInMinutes", s.bake_minutes)
    if s.alarms:
        config["alarms"] = {"alarmNames": list(s.alarms), "enable": True, "rollback": s.alarm_rollback}
    if s.pause:
        hook: dict[str, Any] = {"targetType": "PAUSE", "lifecycleStages": list(s.pause)}
        timeout: dict[str, Any] = {}
        _put(timeout, "timeoutInMinutes", s.pause_timeout_minutes)
        _put(timeout, "action", s.pause_timeout_action)
        if timeout:
            hook["timeoutConfiguration"] = timeout
        # The service's Lambda hooks stay; its PAUSE hooks are the rule's to set.
        kept = [h for h in config.get("lifecycleHooks") or [] if h.get("targetType") != "PAUSE"]
        config["lifecycleHooks"] = [*kept, hook]
    if s.strategy == "ROLLING":
        config.pop("bakeTimeInMinutes", None)  # a native strategy's bake time does not apply to ROLLING
    return None if config == dict(current) else config


def _put(block: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        block[key] = value


def planned_seconds(configuration: Mapping[str, Any]) -> float:
    """Return how long a deployment with this configuration waits on purpose (bake times), in seconds."""
    strategy = configuration.get("strategy") or "ROLLING"
    if strategy not in NATIVE_STRATEGIES:
        return 0.0
    minutes = float(configuration.get("bakeTimeInMinutes") or 0)
    if strategy == "CANARY":
        canary = configuration.get("canaryConfiguration") or {}
        minutes += float(canary.get("canaryBakeTimeInMinutes", DEFAULT_CANARY_BAKE))
    elif strategy == "LINEAR":
        linear = configuration.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent") or DEFAULT_LINEAR_STEP)
        # The step bake is not applied after the last step (100 percent).
        minutes += (math.ceil(100 / step) - 1) * float(linear.get("stepBakeTimeInMinutes", DEFAULT_LINEAR_BAKE))
    return minutes * 60
