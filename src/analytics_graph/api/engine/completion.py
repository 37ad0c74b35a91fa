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
kept by the structure of what they complete (type names, keys, attributes,
nullability: never the ``id()`` of an object that may be freed), per schema
(:class:`Compiled`), in a bounded cache, so equal selections share them.

:class:`Interpreted` completes the same plans with closures instead of generated
code: the measured alternative (``bench/graphql.py completion``).
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
        made = self._kept(("shape", structure(shape)), lambda: self._shape(shape))
        return Step(key, attribute, made, shape)

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


# ---------------------------------------------------------------- interpreting


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


# ---------------------------------------------------------------- compiling


class _Source:
    """The names a generated function refers to, and their values. The namespace is
    the function's globals: what it binds lives as long as the function."""

    def __init__(self, completions: Compiled) -> None:
        self.completions = completions
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
        made = self.completions.list_function(shape)
        return f"{self.bind(made)}({var})"

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

    def function(self, name: str, lines: list[str]) -> Any:
        code = "\n".join([f"def {name}(x):", *(f"    {line}" for line in lines)])
        exec(compile(code, f"<completion of {name}>", "exec"), self.namespace)
        return self.namespace[name]


class Compiled(Completions):
    """Completion functions generated as Python source (the technique of graphql-jit)."""

    def _shape(self, shape: Shape) -> Complete:
        source = _Source(self)
        null = "raise U" if shape.non_null else "return None"
        lines = ["if x is None:", f"    {null}", f"return {source.expression(shape, 'x')}"]
        made: Complete = source.function("complete_value", lines)
        return made

    def list_function(self, shape: ListOf) -> Complete:
        """A function completing a list (not None) as ``shape``."""
        made: Complete = self._kept(("list", structure(shape)), lambda: self._list(shape))
        return made

    def _list(self, shape: ListOf) -> Complete:
        item = shape.item
        source = _Source(self)
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
        made: Complete = source.function("complete_list", [*lines, f"return [{each} for y in x]"])
        return made

    def _object(self, type_name: str, steps: list[Step]) -> Callable[[Any], dict[str, Any]]:
        """A function completing an object (not None) whose steps are all plain."""
        source = _Source(self)
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
        made: Callable[[Any], dict[str, Any]] = source.function(
            "complete_object", [*lines, "return {" + ", ".join(entries) + "}"]
        )
        return made
