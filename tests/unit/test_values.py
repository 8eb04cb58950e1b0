"""@frozen behaves as @dataclass(frozen=True): construction, defaults, equality, hash, repr, immutability."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, field
from typing import Any, cast

import pytest

from ecr_autodeploy.core.values import frozen


@frozen
class Point:
    """A value with a default, a factory, a hidden field and one left out of the comparison."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    note: str = field(default="", compare=False, repr=False)


@frozen
class Checked:
    """A value whose __post_init__ validates and derives a field."""

    text: str
    _length: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("text is empty")
        object.__setattr__(self, "_length", len(self.text))


@frozen
class Raw:
    """A value with a field left out of the hash only."""

    name: str
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclasses.dataclass(frozen=True)
class Reference:
    """The dataclass @frozen stands for."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    note: str = field(default="", compare=False, repr=False)


def test_construction_defaults_and_factory() -> None:
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags, p.extra, p.note) == (1, 0, ("a",), {}, "")
    assert Point(1).extra is not Point(1).extra  # a new dict each time, as default_factory makes
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, (), {}, "", 6)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]


def test_wrong_arguments_are_named_as_python_names_them() -> None:
    with pytest.raises(TypeError, match=r"Point\(\) missing required argument\(s\): 'x'"):
        Point(y=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"takes 5 positional arguments but 6 were given"):
        Point(1, 2, (), {}, "", 6)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]


def test_a_field_outside_init_takes_its_default() -> None:
    @frozen
    class Counted:
        name: str
        seen: int = field(default=0, init=False)
        marks: list[str] = field(default_factory=list, init=False)

    value = Counted("a")
    assert (value.seen, value.marks) == (0, [])
    with pytest.raises(TypeError, match="unexpected keyword argument 'seen'"):
        Counted("a", seen=1)  # type: ignore[call-arg]


def test_equality_hash_and_repr_are_the_dataclass_ones() -> None:
    assert Point(1, 2) == Point(1, 2, note="other")  # note is not compared
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != cast(object, Reference(1, 2))  # another class is never equal
    assert Point(1, 2).__eq__((1, 2)) is NotImplemented
    assert hash(Checked("abc")) == hash(Checked("abc"))
    assert len({Checked("a"), Checked("a"), Checked("b")}) == 2
    assert repr(Point(1, 2, extra={"k": "v"})) == repr(Reference(1, 2, extra={"k": "v"})).replace("Reference", "Point")
    assert hash(Raw("a", {"k": 1})) == hash(Raw("a", {}))
    assert Raw("a", {"k": 1}) != Raw("a", {})


def test_unhashable_field_makes_the_value_unhashable_like_a_dataclass() -> None:
    with pytest.raises(TypeError):
        hash(Point(1, extra={}))
    with pytest.raises(TypeError):
        hash(Reference(1, extra={}))


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del p.x
    with pytest.raises(FrozenInstanceError):
        p.other = 1  # type: ignore[attr-defined]


def test_post_init_runs_and_derived_fields_stay_out_of_init() -> None:
    assert Checked("abc")._length == 3
    with pytest.raises(ValueError, match="empty"):
        Checked("")
    assert Checked("abc") == Checked("abc")
    assert "_length" not in repr(Checked("abc"))


def test_dataclass_functions_work() -> None:
    p = Point(1, 2, ("a",), {"k": "v"})
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "tags", "extra", "note"]
    assert dataclasses.replace(p, y=5) == Point(1, 5, ("a",), {"k": "v"})
    assert dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": ("a",), "extra": {"k": "v"}, "note": ""}
    assert Point.__match_args__ == ("x", "y", "tags", "extra", "note")
    assert pickle.loads(pickle.dumps(p)) == p


def test_keyword_only_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="keyword-only"):

        @frozen
        class KeywordOnly:
            a: int = field(kw_only=True)
