"""What the rules can reach, as IAM resource patterns: the services of each target, and the repositories.

* a ``{template}`` in a cluster or service name becomes ``*`` in its place (``service/team/*``); seed mode
  (regexes on the repository ARN) can name any service: ``service/*/*``;
* a repository glob keeps ``*`` and ``?`` (a ``[...]`` class becomes ``?``), a regex its literal prefix
  followed by ``*``; seed mode can name any repository.
"""

from __future__ import annotations

import string

from ecr_autodeploy.core.config import REGEX_PREFIX, Config, Strategy, is_glob
from ecr_autodeploy.core.values import frozen

# Characters that are literal in a regex and may appear in a repository name, and escapes that stand for one.
_REGEX_LITERALS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/_-")
_REGEX_ESCAPED_LITERALS = frozenset("./_-")
_OPTIONAL_OR_REPEATED = ("?", "*", "{")


@frozen
class ServiceScope:
    """The services one rule target can reach: names, or IAM patterns where the rule has templates."""

    region: str | None  # None: the install region, where the events arrive
    cluster: str
    service: str
    role_arn: str | None
    strategy: Strategy
    rollback: bool = False  # the rule rolls back a failed deployment (a native strategy's: StopServiceDeployment)

    def where(self, install_region: str) -> str:
        """Return the region of the services, given the install region."""
        return self.region or install_region

    @property
    def exact(self) -> bool:
        """Return whether cluster and service are plain names (no wildcard)."""
        return "*" not in self.cluster and "*" not in self.service


def service_scopes(config: Config) -> tuple[ServiceScope, ...]:
    """Return the service scopes of every rule target, in the order of the rules."""
    if config.seed is not None and not config.rules:
        return (ServiceScope(None, "*", "*", None, config.seed.strategy),)
    scopes: dict[ServiceScope, None] = {}
    for rule in config.rules:
        for target in rule.targets:
            scope = ServiceScope(
                target.region,
                name_pattern(target.cluster),
                name_pattern(target.service),
                target.role_arn,
                rule.strategy,
                rule.rollback,
            )
            scopes[scope] = None
    return tuple(scopes)


def name_pattern(template: str) -> str:
    """Return the IAM pattern of a name template: each ``{variable}`` becomes ``*``."""
    parts: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append("*")
    pattern = "".join(parts)
    while "**" in pattern:
        pattern = pattern.replace("**", "*")
    return pattern


def repository_patterns(config: Config) -> tuple[str, ...]:
    """Return the IAM patterns of the repositories the rules match (``*`` in seed mode)."""
    if not config.rules:
        return ("*",)
    return tuple(sorted({repository_pattern(rule.repository) for rule in config.rules}))


def repository_pattern(repository: str) -> str:
    """Return the IAM pattern of a rule's repository: the name, the glob in IAM wildcards, or a regex's prefix."""
    if repository.startswith(REGEX_PREFIX):
        return regex_prefix(repository[len(REGEX_PREFIX) :]) + "*"
    if is_glob(repository):
        return glob_pattern(repository)
    return repository


def glob_pattern(glob: str) -> str:
    """Return an fnmatch glob in IAM wildcards: ``*`` and ``?`` stay, a ``[...]`` class becomes ``?``."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        ch = glob[i]
        if ch == "[":
            j = i + 1
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j < n:
                out.append("?")
                i = j + 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def regex_prefix(regex: str) -> str:
    """Return literal text every full match of `regex` starts with ("" when nothing can be relied on)."""
    if _top_level_alternation(regex):
        return ""
    body = regex.removeprefix("^")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in _REGEX_ESCAPED_LITERALS:
            literal, step = body[i + 1], 2
        elif ch in _REGEX_LITERALS:
            literal, step = ch, 1
        else:
            break
        following = body[i + step : i + step + 1]
        if following in _OPTIONAL_OR_REPEATED:
            break  # this character may be absent (or, with {m,n}, counted): stop before it
        out.append(literal)
        if following == "+":
            break  # present at least once, but its repetitions are not literal text
        i += step
    return "".join(out)


def _top_level_alternation(regex: str) -> bool:
    depth, i, n = 0, 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            # Skip the character class; "]" first in it (or after "^") is a literal.
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":
                i += 1
            while i < n and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False
