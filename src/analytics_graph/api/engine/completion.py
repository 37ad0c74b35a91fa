"""Completing plain data: plans of selections, and the functions completing them.

A *plan* says, for each response key of a selection, which attribute to read and
how to complete its value (``Leaf``: serialise a scalar or enum; ``Nested``: an
object all of whose selected fields are plain; ``ListOf``). ``execution.py``
makes the plans; here each shape and each all-plain plan gets one completion
function, made of closures over the plan (:class:`Interpreted`): a dashboard's
hundreds of leaves are completed without graphql-core's per-field machinery,
with the built-in scalars' checks done in place.

A completion function never reports an error itself: where graphql-core would
report one (a null where the schema says non-null, a value that does not
serialise, a list that is not one) it raises, and the caller lets graphql-core
complete that field instead, with its exact message and path.

Functions are kept by the structure of what they complete (type names, keys,
attributes, nullability: never the ``id()`` of an object that may be freed), per
schema, in a bounded cache, so equal selections share them.

Session 10 measured generating Python source for each plan (graphql-jit's
technique) against these closures, uncached dashboard and video at concurrency 8
in turns (``bench/graphql.py completion``): no consistent difference (ratios
0.85x to 1.12x either way across two runs), so the generated code was removed;
graphql-core's own path for every field ran at 0.39x to 0.83x of either.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLScalarType,
    GraphQLString,
)

MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_FUNCTIONS = 10_000

Serialize: TypeAlias = Callable[[Any], Any]
Complete: TypeAlias = Callable[[Any], Any]


class Unusual(Exception):
    """Raised inside the fast pass: let graphql-core complete this field."""


def inline_kind(kind: GraphQLScalarType | GraphQLEnumType) -> str | None:
    """Which inline check applies to ``kind``'s values (built-in scalars only)."""
    if kind is GraphQLInt:
        return "int"
    if kind is GraphQLFloat:
        return "float"
    if kind is GraphQLBoolean:
        return "bool"
    if kind is GraphQLString or kind is GraphQLID:
        return "str"
    return None


@dataclass(frozen=True, slots=True)
class Leaf:
    non_null: bool
    serialize: Serialize
    """graphql-core's serialisation of the type (what the inline check falls back to)."""
    inline: str | None = None
    type_name: str = ""
    """The scalar or enum: what the leaf's structure is known by."""


@dataclass(frozen=True, slots=True)
class Nested:
    """A plain object: every selected field of it is plain."""

    non_null: bool
    plan: Plan


@dataclass(frozen=True, slots=True)
class ListOf:
    non_null: bool
    item: Shape


Shape: TypeAlias = Leaf | Nested | ListOf


@dataclass(frozen=True, slots=True)
class Step:
    """One response key of a selection: ``attribute`` read and completed by
    ``complete``; ``__typename`` when ``typename``; graphql-core's path when
    ``complete`` is ``None``."""

    key: str
    attribute: str | None = None
    complete: Complete | None = None
    shape: Shape | None = None
    typename: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    type_name: str
    steps: tuple[Step, ...]
    any_plain: bool
    structure: tuple[object, ...]
    """What the plan completes, as a value: equal structures complete alike."""
    complete: Callable[[Any], dict[str, Any]] | None = field(default=None)
    """The whole object at once, when every step is plain."""


def structure(shape: Shape) -> tuple[object, ...]:
    """What ``shape`` completes, as a hashable value made of names and flags only."""
    if isinstance(shape, Leaf):
        return ("leaf", shape.non_null, shape.inline, shape.type_name)
    if isinstance(shape, Nested):
        return ("object", shape.non_null, shape.plan.structure)
    return ("list", shape.non_null, structure(shape.item))


def _plan_structure(type_name: str, steps: list[Step]) -> tuple[object, ...]:
    return (
        type_name,
        tuple((s.key, s.attribute, s.typename, s.shape and structure(s.shape)) for s in steps),
    )


class Completions:
    """Makes the completion functions of plans and shapes, kept by structure in a
    bounded cache (the least recently made go first)."""

    def __init__(self, maxsize: int = MAX_FUNCTIONS) -> None:
        self.maxsize = maxsize
        self._made: dict[tuple[object, ...], Callable[..., Any]] = {}

    def __len__(self) -> int:
        return len(self._made)

    def plan(self, type_name: str, steps: list[Step]) -> Plan:
        plain = [s.typename or s.complete is not None for s in steps]
        shape = _plan_structure(type_name, steps)
        whole = None
        if all(plain):
            whole = self._kept(("object", shape), lambda: self._object(type_name, steps))
        return Plan(type_name, tuple(steps), any(plain), shape, whole)

    def step(self, key: str, attribute: str, shape: Shape | None) -> Step:
        """A step reading ``attribute``, plain when ``shape`` is given (and the
        attribute can be named in code)."""
        if shape is None or not attribute.isidentifier() or keyword.iskeyword(attribute):
            return Step(key, attribute)
        return Step(key, attribute, self.completer(shape), shape)

    def completer(self, shape: Shape) -> Complete:
        """The function completing a value of ``shape`` (``None`` included)."""
        made: Complete = self._kept(("shape", structure(shape)), lambda: self._shape(shape))
        return made

    def _kept(self, key: tuple[object, ...], make: Callable[[], Any]) -> Any:
        found = self._made.get(key)
        if found is not None:
            return found
        made = make()
        if len(self._made) >= self.maxsize:
            del self._made[next(iter(self._made))]
        self._made[key] = made
        return made

    def _shape(self, shape: Shape) -> Complete:
        raise NotImplementedError

    def _object(self, type_name: str, steps: list[Step]) -> Callable[[Any], dict[str, Any]]:
        raise NotImplementedError


class Interpreted(Completions):
    """Completion functions as closures over the plans (no generated code)."""

    def _shape(self, shape: Shape) -> Complete:
        inner = self._value(shape)
        if shape.non_null:

            def complete_non_null(x: Any) -> Any:
                if x is None:
                    raise Unusual
                return inner(x)

            return complete_non_null
        return lambda x: None if x is None else inner(x)

    def _value(self, shape: Shape) -> Complete:
        """Completes a value that is not None."""
        if isinstance(shape, Leaf):
            return _leaf(shape)
        if isinstance(shape, Nested):
            assert shape.plan.complete is not None
            return shape.plan.complete
        item = self._shape(shape.item)

        def complete_list(x: Any) -> list[Any]:
            if isinstance(x, (str, bytes, dict)):
                raise Unusual
            return [item(y) for y in x]

        return complete_list

    def _object(self, type_name: str, steps: list[Step]) -> Callable[[Any], dict[str, Any]]:
        fields = [
            (s.key, None, None) if s.typename else (s.key, s.attribute, s.complete) for s in steps
        ]

        def complete_object(x: Any) -> dict[str, Any]:
            return {
                key: type_name if complete is None else complete(getattr(x, attribute))  # type: ignore[arg-type]
                for key, attribute, complete in fields
            }

        return complete_object


def _leaf(leaf: Leaf) -> Complete:
    serialize = leaf.serialize
    if leaf.inline == "int":
        return lambda v: v if v.__class__ is int and MIN_INT <= v <= MAX_INT else serialize(v)
    if leaf.inline == "float":
        return lambda v: v if v.__class__ is float and math.isfinite(v) else serialize(v)
    if leaf.inline == "str":
        return lambda v: v if v.__class__ is str else serialize(v)
    if leaf.inline == "bool":
        return lambda v: v if v.__class__ is bool else serialize(v)
    return serialize
