"""``@frozen``: an immutable value class, as ``@dataclass(frozen=True)`` makes it, for a fraction of the cost.

Python 3.11's dataclass compiles six methods for every frozen class, one at a time: 0.5 to 1.7 ms a class, and
the function defines 26 of them before it can say it ignores an event (21 ms of its cold start; bench/cold_init.py).
``frozen`` lets dataclasses collect the fields, so ``fields``, ``replace`` and ``asdict`` work as on any dataclass,
and compiles nothing: one ``__init__``, ``__eq__``, ``__hash__``, ``__repr__``, ``__setattr__`` and ``__delattr__``
serve every class, each reading the class's field plan. What it makes behaves as a frozen dataclass does:
positional or keyword arguments (the same TypeErrors for missing, extra or repeated ones), defaults and
``default_factory``, ``__post_init__``, equality and hash over the compared fields of the same class, a repr of the
shown fields, FrozenInstanceError on assignment (tests/unit/test_values.py). No keyword-only fields, no slots.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")
_NOTHING: Callable[[object], tuple[()]] = lambda _: ()  # noqa: E731  (a class that compares no field)


class _Plan:
    """How `__init__` fills an instance of one class (a plain class: cheaper to define than a NamedTuple)."""

    __slots__ = ("accepted", "defaults", "factories", "owner", "params", "post_init", "required")

    def __init__(self, cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> None:
        missing = dataclasses.MISSING
        self.owner: str = cls.__qualname__  # for the errors
        self.params = tuple(f.name for f in fields if f.init)  # the __init__ parameters, in order
        self.accepted = frozenset(self.params)
        self.required = tuple(f.name for f in fields if f.init and f.default is f.default_factory is missing)
        # Every field with a default or a default_factory, init or not (as a dataclass's __init__ sets them).
        self.defaults = tuple((f.name, f.default) for f in fields if f.default is not missing)
        self.factories: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
            (f.name, f.default_factory) for f in fields if f.default_factory is not missing
        )
        self.post_init = hasattr(cls, "__post_init__")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: type[T]) -> type[T]:
    """Return `cls` made an immutable dataclass (no keyword-only fields, no base dataclass)."""
    made: Any = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(made)
    if any(f.kw_only for f in fields):
        raise TypeError(f"{made.__qualname__}: @frozen takes no keyword-only fields")
    compared = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    attrs: dict[str, Any] = {
        "__init__": _init,
        "__eq__": _eq,
        "__hash__": _hash,
        "__repr__": _repr,
        "__setattr__": _setattr,
        "__delattr__": _delattr,
        "_frozen_plan": _Plan(made, fields),
        "_frozen_compared": attrgetter(*compared) if compared else _NOTHING,
        "_frozen_hashed": attrgetter(*hashed) if hashed else _NOTHING,
        "_frozen_shown": tuple(f.name for f in fields if f.repr),
    }
    for name, value in attrs.items():
        setattr(made, name, value)
    result: type[T] = made
    return result


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    plan: _Plan = self.__class__._frozen_plan
    if len(args) > len(plan.params):
        raise TypeError(f"{plan.owner}() takes {len(plan.params)} positional arguments but {len(args)} were given")
    values = dict(zip(plan.params, args, strict=False))
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{plan.owner}() got multiple values for argument {name!r}")
        if name not in plan.accepted:
            raise TypeError(f"{plan.owner}() got an unexpected keyword argument {name!r}")
        values[name] = value
    if len(values) < len(plan.params):
        missing = [name for name in plan.required if name not in values]
        if missing:
            raise TypeError(f"{plan.owner}() missing required argument(s): {', '.join(map(repr, missing))}")
    for name, default in plan.defaults:
        values.setdefault(name, default)
    for name, factory in plan.factories:
        if name not in values:
            values[name] = factory()
    self.__dict__.update(values)
    if plan.post_init:
        self.__post_init__()


def _eq(self: Any, other: object) -> object:
    cls: Any = self.__class__
    key: Callable[[object], object] = cls._frozen_compared
    if other.__class__ is not cls:
        return NotImplemented
    return key(self) == key(other)


def _hash(self: Any) -> int:
    return hash(self.__class__._frozen_hashed(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._frozen_shown)
    return f"{self.__class__.__qualname__}({shown})"


def _setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
