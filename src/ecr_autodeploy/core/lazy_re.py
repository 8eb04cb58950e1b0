"""Regular expressions compiled on first use, so that importing a module that checks values costs nothing for
the checks a run never makes (a cold start that only parses its rules compiles only the patterns they need).

``re`` would compile a module-level ``re.compile(...)`` at import; a ``Lazy`` compiles on its first match.
"""

from __future__ import annotations

import re
import threading


class Lazy:
    """A regular expression that is compiled when first used; `match`, `fullmatch` and `search` as re.Pattern's."""

    __slots__ = ("_compiled", "_lock", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    @property
    def compiled(self) -> re.Pattern[str]:
        """Return the compiled pattern (compiling it the first time)."""
        found = self._compiled
        if found is None:
            with self._lock:
                found = self._compiled = self._compiled or re.compile(self.pattern, self.flags)
        return found

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.compiled.match(text, pos)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)
