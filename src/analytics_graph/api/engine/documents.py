"""Parsed and validated documents, cached by their text.

:class:`DocumentCache` parses (with token, comment and length limits) and
validates (with the spec's rules, Strawberry's ``@oneOf`` rules and ours, all
built once) each distinct query text once; later requests with the same text
reuse the result, errors included. The cache is bounded (least recently used
texts go first) and counts its hits and misses.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from analytics_graph.api.engine.limits import Limits, cost_rule

_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
MAX_COMMENTS = 200
MAX_SOURCE_LENGTH = 100_000


@dataclass(frozen=True, slots=True)
class Prepared:
    """A query text after parsing and validation: ``errors`` empty means executable."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run (by name, or the only one); ``None`` if not determinable."""
        if self.document is None:
            return None
        operations = [
            d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if name is None:
            return operations[0] if len(operations) == 1 else None
        return next((o for o in operations if o.name and o.name.value == name), None)

    def operation_type(self, name: str | None) -> OperationType | None:
        operation = self.operation(name)
        return None if operation is None else operation.operation


def validation_rules(limits: Limits, *, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    """Every rule a document must pass, as one tuple built once."""
    rules: list[type[ASTValidationRule]] = [
        *specified_rules,
        MaybeNullValidationRule,
        OneOfInputValidationRule,
        cost_rule(limits.max_depth, limits.max_fields, limits.max_aliases),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


class DocumentCache:
    """Parses and validates query texts against ``schema``, once per distinct text."""

    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        *,
        introspection: bool,
        suggestions: bool,
        maxsize: int = 1_000,
    ) -> None:
        self.schema = schema
        self.rules = validation_rules(limits, introspection=introspection)
        self.max_tokens = limits.max_tokens
        self.suggestions = suggestions
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def prepare(self, query: str) -> Prepared:
        """The parsed and validated document for ``query`` (cached)."""
        found = self._entries.get(query)
        if found is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return found
        self.misses += 1
        prepared = self._prepare(query)
        self._entries[query] = prepared
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(
                query,
                max_lexical_tokens=self.max_tokens,
                max_comments=MAX_COMMENTS,
                max_source_length=MAX_SOURCE_LENGTH,
            )
        except GraphQLError as error:
            return Prepared(None, self._coded([error], "GRAPHQL_PARSE_FAILED"))
        errors = validate(self.schema, document, self.rules)
        return Prepared(document, self._coded(errors, "GRAPHQL_VALIDATION_FAILED"))

    def _coded(self, errors: Sequence[GraphQLError], code: str) -> tuple[GraphQLError, ...]:
        for error in errors:
            if not self.suggestions:
                error.message = _SUGGESTION.sub("", error.message)
            error.extensions = {"code": code, **(error.extensions or {})}
        return tuple(errors)
