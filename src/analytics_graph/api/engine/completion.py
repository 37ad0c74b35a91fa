"""Completing plain data: plans of selections, compiled to Python functions.

A *plan* says, for each response key of a selection, which attribute to read and
how to complete its value (``Leaf``: serialise a scalar or enum; ``Nested``: an
object all of whose selected fields are plain; ``ListOf``). ``execution.py``
makes the plans; here, each shape and each all-plain plan is compiled once into
a small Python function (the technique of graphql-jit): a dashboard's hundreds of
leaves are then completed by straight-line code building dict literals, with
the built-in scalars' checks inlined, instead of a loop interpreting the plan.

A compiled function never reports an error itself: where graphql-core would
report one (a null where the schema says non-null, a value that does not
serialise, a list that is not one) it raises, and the caller lets graphql-core
complete that field instead, with its exact message and path.

Only names go into the generated source: response keys (GraphQL names) as string
literals, and attribute names checked to be Python identifiers. Functions are
kept by the structure of what they complete, so equal selections share them.
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
MAX_COMPILED = 10_000

Serialize: TypeAlias = Callable[[Any], Any]
Complete: TypeAlias = Callable[[Any], Any]


class Unusual(Exception):
    """Raised inside the fast pass: let graphql-core complete this field."""


# How a scalar's values that need no conversion are recognised, inline: a value of
# exactly this class (and, for Int, in range; for Float, finite) is its own output.
INLINE = {
    "int": "({v} if {v}.__class__ is int and {lo} <= {v} <= {hi} else {s}({v}))",
    "float": "({v} if {v}.__class__ is float and isfinite({v}) else {s}({v}))",
    "str": "({v} if {v}.__class__ is str else {s}({v}))",
    "bool": "({v} if {v}.__class__ is bool else {s}({v}))",
}


# The same, reading the value (``a``) into ``v`` as it checks it (inside comprehensions).
READ_INLINE = {
    "int": "({v} if ({v} := {a}).__class__ is int and {lo} <= {v} <= {hi} else {s}({v}))",
    "float": "({v} if ({v} := {a}).__class__ is float and isfinite({v}) else {s}({v}))",
    "str": "({v} if ({v} := {a}).__class__ is str else {s}({v}))",
    "bool": "({v} if ({v} := {a}).__class__ is bool else {s}({v}))",
}


def unusual() -> Any:
    """Raises :class:`Unusual` (from inside an expression)."""
    raise Unusual


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
    complete: Callable[[Any], dict[str, Any]] | None = field(default=None)
    """The whole object at once, when every step is plain."""

    @classmethod
    def of(cls, type_name: str, steps: list[Step]) -> Plan:
        plain = [s.typename or s.complete is not None for s in steps]
        whole = _object_function(type_name, steps) if all(plain) else None
        return cls(type_name, tuple(steps), any(plain), whole)


def step(key: str, attribute: str, shape: Shape | None) -> Step:
    """A step reading ``attribute``, plain when ``shape`` is given (and the attribute
    can be named in code)."""
    if shape is None or not attribute.isidentifier() or keyword.iskeyword(attribute):
        return Step(key, attribute)
    return Step(key, attribute, shape_function(shape), shape)


# ---------------------------------------------------------------- compiling

_compiled: dict[tuple[object, ...], Callable[..., Any]] = {}


def _signature(shape: Shape) -> tuple[object, ...]:
    if isinstance(shape, Leaf):
        return ("leaf", shape.non_null, shape.inline, id(shape.serialize))
    if isinstance(shape, Nested):
        return ("object", shape.non_null, id(shape.plan.complete))
    return ("list", shape.non_null, _signature(shape.item))


class _Source:
    """The names a generated function refers to, and their values. The namespace is
    the function's globals: what it binds (the values signatures name by id) lives as
    long as the function."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "U": Unusual,
            "unusual": unusual,
            "isfinite": math.isfinite,
        }

    def bind(self, value: object) -> str:
        name = f"n{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def expression(self, shape: Shape, var: str) -> str:
        """Python for ``var`` (not None) completed as ``shape``."""
        if isinstance(shape, Leaf):
            serialize = self.bind(shape.serialize)
            if shape.inline is None:
                return f"{serialize}({var})"
            return INLINE[shape.inline].format(v=var, s=serialize, lo=MIN_INT, hi=MAX_INT)
        if isinstance(shape, Nested):
            assert shape.plan.complete is not None
            return f"{self.bind(shape.plan.complete)}({var})"
        return f"{self.bind(_list_function(shape))}({var})"

    def flat_object(self, plan: Plan, var: str) -> str | None:
        """A dict expression completing ``var`` (an object, not None) by ``plan`` when
        all its fields are scalars (``None`` otherwise): no call per object, for the
        items of a list (a daily series, shares ...)."""
        entries = []
        for i, s in enumerate(plan.steps):
            if s.typename:
                entries.append(f"{s.key!r}: {plan.type_name!r}")
                continue
            if not isinstance(s.shape, Leaf) or s.attribute is None:
                return None
            v, read, serialize = f"v{i}", f"{var}.{s.attribute}", self.bind(s.shape.serialize)
            if s.shape.inline is not None:  # graphql-core's serialize refuses None itself
                checked = INLINE[s.shape.inline].format(v=v, s=serialize, lo=MIN_INT, hi=MAX_INT)
                if s.shape.non_null:
                    value = READ_INLINE[s.shape.inline].format(
                        v=v, a=read, s=serialize, lo=MIN_INT, hi=MAX_INT
                    )
                else:
                    value = f"(None if ({v} := {read}) is None else {checked})"
            else:
                null = "unusual()" if s.shape.non_null else "None"
                value = f"({null} if ({v} := {read}) is None else {serialize}({v}))"
            entries.append(f"{s.key!r}: {value}")
        return "{" + ", ".join(entries) + "}"

    def function(self, key: tuple[object, ...], name: str, lines: list[str]) -> Any:
        code = "\n".join([f"def {name}(x):", *(f"    {line}" for line in lines)])
        exec(compile(code, f"<completion of {name}>", "exec"), self.namespace)
        made = self.namespace[name]
        if len(_compiled) >= MAX_COMPILED:
            _compiled.clear()
        _compiled[key] = made
        return made


def _function(key: tuple[object, ...], name: str, write: Callable[[_Source], list[str]]) -> Any:
    """The function kept under ``key``, or a new one: ``def name(x):`` and the lines
    ``write`` gives (binding what they refer to in the source it is passed)."""
    found = _compiled.get(key)
    if found is not None:
        return found
    source = _Source()
    return source.function(key, name, write(source))


def shape_function(shape: Shape) -> Complete:
    """A function completing a value (``None`` included) as ``shape``."""

    def write(source: _Source) -> list[str]:
        null = "raise U" if shape.non_null else "return None"
        return ["if x is None:", f"    {null}", f"return {source.expression(shape, 'x')}"]

    made: Complete = _function(("shape", _signature(shape)), "complete_value", write)
    return made


def _list_function(shape: ListOf) -> Complete:
    """A function completing a list (not None) as ``shape``."""
    item = shape.item

    def write(source: _Source) -> list[str]:
        lines = ["if isinstance(x, (str, bytes, dict)):", "    raise U"]
        if item.non_null and isinstance(item, Leaf):
            lines += [
                "if x.__class__ is not list:",
                "    x = list(x)",
                "if None in x:",
                "    raise U",
            ]
        flat = source.flat_object(item.plan, "y") if isinstance(item, Nested) else None
        each = flat or source.expression(item, "y")
        if not item.non_null:
            each = f"None if y is None else {each}"
        # A None item of a non-null object or list type fails there (graphql-core reports).
        return [*lines, f"return [{each} for y in x]"]

    made: Complete = _function(("list", _signature(shape)), "complete_list", write)
    return made


def _object_function(type_name: str, steps: list[Step]) -> Callable[[Any], dict[str, Any]]:
    """A function completing an object (not None) whose steps are all plain."""

    def write(source: _Source) -> list[str]:
        lines, entries = [], []
        for i, s in enumerate(steps):
            if s.typename:
                entries.append(f"{s.key!r}: {type_name!r}")
                continue
            assert s.shape is not None and s.attribute is not None
            var = f"x{i}"
            lines.append(f"{var} = x.{s.attribute}")
            value = source.expression(s.shape, var)
            if s.shape.non_null:
                lines += [f"if {var} is None:", "    raise U"]
                entries.append(f"{s.key!r}: {value}")
            else:
                entries.append(f"{s.key!r}: (None if {var} is None else {value})")
        return [*lines, "return {" + ", ".join(entries) + "}"]

    shapes = tuple((s.key, s.attribute, s.typename, s.shape and _signature(s.shape)) for s in steps)
    made: Callable[[Any], dict[str, Any]] = _function(
        ("object", type_name, shapes), "complete_object", write
    )
    return made
