"""A rule's gates: what must hold before an image deploys (parsing only; the decisions are core/gates.py).

    - repository: shop/api
      approval: required                 # a person approves each image: `ecr-autodeploy approve ID`
      approvers: [arn:aws:iam::123456789012:role/release-managers]   # who may (default: whoever may write the ledger)
      expires: 24h                       # an approval not given by then is closed (default 24h; 1m to 30d)
      windows: ["Mon-Fri 09:00-16:00 Europe/Berlin"]   # deploy only inside one of these (core/windows.py)
      hold_if_alarm: [checkout-5xx]      # no deploy while one of these CloudWatch alarms is in ALARM
      max_parallel: 2                    # waves: this many services at a time, the next after they completed
      targets:
        - cluster: shop
          service: api
          after: {cluster: staging, service: api}   # promotion: only a digest whose rollout COMPLETED there
          soak: 30m                      # ... at least this long ago (0s to 30d)

Durations are whole numbers with a unit, one or more: ``90s``, ``30m``, ``24h``, ``2d``, ``1h30m``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.core.events import REGION_RE
from ecr_autodeploy.core.fields import Reader, clip, expected, kind_of
from ecr_autodeploy.core.lazy_re import Lazy
from ecr_autodeploy.core.strategies import parse_alarm_names
from ecr_autodeploy.core.values import frozen

if TYPE_CHECKING:
    from ecr_autodeploy.core.windows import Window

GATE_KEYS = ("approval", "approvers", "expires", "windows", "hold_if_alarm", "max_parallel")
TARGET_GATE_KEYS = ("after", "soak")
AFTER_KEYS = ("cluster", "service", "region")
APPROVAL_REQUIRED = "required"
DEFAULT_EXPIRES_SECONDS = 24 * 3600.0
MAX_EXPIRES_SECONDS = 30 * 24 * 3600.0
MAX_SOAK_SECONDS = 30 * 24 * 3600.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = Lazy(r"^(?:\d+[smhd])+\Z")
_DURATION_PART = Lazy(r"(\d+)([smhd])")
# An IAM principal: a user, role, root, or an assumed role's session (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION).
PRINCIPAL_RE = Lazy(
    r"^arn:aws[a-z-]*:(?:iam::\d{12}:(?:root|user/[\w+=,.@/-]{1,512}|role/[\w+=,.@/-]{1,512})"
    r"|sts::\d{12}:assumed-role/[\w+=,.@-]{1,64}/[\w+=,.@-]{2,64})\Z",
    re.ASCII,
)
NameCheck = Callable[[str, str, str], str]  # (value, path, what) -> the value, or raise ConfigError


@frozen
class GateSettings:
    """The gates of one rule (each off unless set)."""

    approval: bool = False
    approvers: tuple[str, ...] = ()
    expires: float = DEFAULT_EXPIRES_SECONDS
    windows: tuple[Window, ...] = ()  # parsed (core/windows.py) only for rules that set windows
    hold_if_alarm: tuple[str, ...] = ()
    max_parallel: int | None = None


@frozen
class Upstream:
    """The service a target's images must have completed on first (``after:``); region None: the target's."""

    cluster: str
    service: str
    region: str | None = None


def parse_gates(item: Mapping[str, Any], r: Reader) -> GateSettings | None:
    """Return a rule's gates (None when it sets none); raise ConfigError naming the rule and field."""
    if not any(item.get(key) is not None for key in GATE_KEYS):
        return None
    approval = item.get("approval")
    if approval is not None and approval != APPROVAL_REQUIRED:
        shown = repr(approval) if isinstance(approval, str) else kind_of(approval)
        raise r.fail("approval", f"expected 'required' (leave approval out to deploy without one), got {shown}")
    required = approval == APPROVAL_REQUIRED
    approvers = r.text_list(item, "approvers", "approvers")
    for key in ("approvers", "expires"):
        if item.get(key) is not None and not required:
            raise r.fail(key, "only applies with approval: required")
    for i, principal in enumerate(approvers or ()):
        if not PRINCIPAL_RE.match(principal):
            raise r.fail(
                f"approvers[{i}]",
                f"{clip(principal)!r} is not an IAM principal ARN (arn:aws:iam::ACCOUNT:role/NAME, user/NAME, root, "
                "or arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION)",
            )
    if approvers is not None and not approvers:
        raise r.fail("approvers", "empty list (leave approvers out to let whoever may write the ledger approve)")
    expires = DEFAULT_EXPIRES_SECONDS
    if item.get("expires") is not None:
        expires = duration(item.get("expires"), "expires", r, low=60, high=MAX_EXPIRES_SECONDS)
    windows = _windows(item, r)
    alarms = parse_alarm_names(item, "hold_if_alarm", "hold_if_alarm", r)
    if "hold_if_alarm" in item and not alarms:
        raise r.fail("hold_if_alarm", "empty list (leave hold_if_alarm out to deploy whatever the alarms say)")
    return GateSettings(
        approval=required,
        approvers=approvers or (),
        expires=expires,
        windows=windows,
        hold_if_alarm=alarms,
        max_parallel=_max_parallel(item.get("max_parallel"), r),
    )


def parse_after(item: Mapping[str, Any], path: str, name: NameCheck, r: Reader) -> tuple[Upstream | None, float]:
    """Return a target's ``after:`` service and ``soak:`` seconds; raise ConfigError naming the field.

    `name` checks a cluster or service name (templates allowed, as in the target's own).
    """
    value = item.get("after")
    soak_value = item.get("soak")
    if value is None:
        if soak_value is not None:
            raise r.fail(f"{path}.soak", "only applies with after")
        return None, 0.0
    if not isinstance(value, Mapping):
        raise r.fail(f"{path}.after", expected("a mapping {cluster, service}", value))
    r.check_keys(value, AFTER_KEYS, f"{path}.after.")
    cluster = name(r.text(value, "cluster", f"{path}.after.cluster"), f"{path}.after.cluster", "cluster")
    service = name(r.text(value, "service", f"{path}.after.service"), f"{path}.after.service", "service")
    region = r.optional_text(value, "region", f"{path}.after.region")
    if region is not None and not REGION_RE.fullmatch(region):
        raise r.fail(f"{path}.after.region", f"{clip(region)!r} is not an AWS region such as us-east-1")
    soak = 0.0 if soak_value is None else duration(soak_value, f"{path}.soak", r, low=0, high=MAX_SOAK_SECONDS)
    return Upstream(cluster, service, region), soak


def duration(value: object, path: str, r: Reader, *, low: float, high: float) -> float:
    """Return a duration (``30m``, ``24h``, ``1h30m``) in seconds; raise ConfigError at `path` when it is not one."""
    if not isinstance(value, str) or not _DURATION_RE.match(value.strip()):
        shown = repr(value) if isinstance(value, str) else kind_of(value)
        raise r.fail(path, f"expected a duration such as 30m, 24h or 1h30m (units s, m, h, d), got {shown}")
    seconds = float(sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.compiled.findall(value)))
    if not low <= seconds <= high:
        raise r.fail(path, f"expected {format_duration(low)} to {format_duration(high)}, got {value}")
    return seconds


def format_duration(seconds: float) -> str:
    """Return seconds as the largest whole units, e.g. ``1d``, ``1h30m``, ``45s`` (``0s`` for none)."""
    left = int(seconds)
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def _windows(item: Mapping[str, Any], r: Reader) -> tuple[Window, ...]:
    texts = r.text_list(item, "windows", "windows")
    if texts is None:
        return ()
    if not texts:
        raise r.fail("windows", "empty list (leave windows out to deploy at any time)")
    from ecr_autodeploy.core.windows import parse_window  # only rules with windows read time zones

    found = []
    for i, text in enumerate(texts):
        try:
            found.append(parse_window(text))
        except ValueError as err:
            raise r.fail(f"windows[{i}]", str(err)) from None
    return tuple(found)


def _max_parallel(value: object, r: Reader) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise r.fail("max_parallel", expected("a whole number of services, 1 or more", value))
    if value < 1:
        raise r.fail("max_parallel", f"expected 1 or more services at a time, got {value}")
    return value
