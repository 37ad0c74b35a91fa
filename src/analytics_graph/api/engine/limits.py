"""The limits of what one request may ask for (:class:`Limits`), and the validation
rule that bounds a document's depth, fields and aliases.

The rule classes are built once per schema (:func:`cost_rule`), so the tuple of
rules is the same object for every request and validation results can be cached
by document (Strawberry's limiter *extensions* create new rule classes per
request, which makes its ``ValidationCache`` miss every time).

Fragments are expanded where they are spread, each fragment measured once
(so a document cannot make the measuring itself expensive). Introspection
fields (``__schema``, ``__type``, ``__typename``) count as fields and their
aliases as aliases (80 aliased ``__schema`` are refused like 80 aliased
``account``); only their depth is left to graphql-core's
``MaxIntrospectionDepthRule`` (the standard introspection query nests ``ofType``
deeper than data queries may go).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Protection of the API: the most a request may ask for."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000
    max_fields: int = 600
    max_page_size: int = 100
    max_log_page: int = 1_000
    max_batch: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    max_query_chars: int = 100_000
    max_variables_depth: int = 32
    offload_bytes: int = 256 * 1024
    """Request bodies larger than this are decoded and coerced in a worker thread."""
    offload_query_chars: int = 16 * 1024
    """Query texts longer than this are parsed and validated in a worker thread."""
    read_your_writes_seconds: float = 10.0
    acquire_timeout: float = 5.0
    """Seconds a request waits for a pooled connection (then: SERVICE_UNAVAILABLE)."""
    ws_init_timeout: float = 10.0
    ws_max_message_bytes: int = 1024 * 1024
    ws_max_operations: int = 50


@dataclass(frozen=True, slots=True)
class Cost:
    """How deep a selection goes, and how many fields and aliases it holds."""

    depth: int = 0
    fields: int = 0
    aliases: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            max(self.depth, other.depth), self.fields + other.fields, self.aliases + other.aliases
        )


class _Measure:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[str, Cost] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        total = Cost()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def field(self, node: FieldNode) -> Cost:
        inner = self.selection_set(node.selection_set)
        aliases = inner.aliases + (node.alias is not None)
        if node.name.value.startswith("__"):
            return Cost(0, inner.fields + 1, aliases)
        return Cost(inner.depth + 1, inner.fields + 1, aliases)

    def fragment(self, name: str) -> Cost:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # reported by the spec's rules
            return Cost()
        self.visiting.add(name)
        cost = self.known[name] = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        return cost


def measure(context: ValidationContext) -> dict[str, Cost]:
    """The cost of each operation of the document (anonymous: ``""``)."""
    document = context.document
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    measuring = _Measure(fragments)
    return {
        (d.name.value if d.name else ""): measuring.selection_set(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def cost_rule(max_depth: int, max_fields: int, max_aliases: int) -> type[ValidationRule]:
    """A rule class refusing operations deeper, wider or with more aliases than allowed."""

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for name, cost in measure(context).items():
                for problem in _problems(cost, max_depth, max_fields, max_aliases):
                    where = f"operation {name!r}" if name else "the operation"
                    context.report_error(
                        GraphQLError(f"{where} {problem}", extensions={"code": "QUERY_TOO_COMPLEX"})
                    )

    return CostRule


def _problems(cost: Cost, max_depth: int, max_fields: int, max_aliases: int) -> list[str]:
    problems = []
    if cost.depth > max_depth:
        problems.append(f"is {cost.depth} fields deep; at most {max_depth} are allowed")
    if cost.fields > max_fields:
        problems.append(f"selects {cost.fields} fields; at most {max_fields} are allowed")
    if cost.aliases > max_aliases:
        problems.append(f"uses {cost.aliases} aliases; at most {max_aliases} are allowed")
    return problems
