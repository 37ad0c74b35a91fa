"""Parsed and validated documents, cached by a digest of their text.

:class:`DocumentCache` parses (with token, comment and length limits) and
validates (with the spec's rules, Strawberry's ``@oneOf`` rules and ours, all
built once) each distinct query text once; later requests with the same text
reuse the result, errors included. Both caches are keyed by the text's BLAKE2b
digest and bounded by entries and bytes (``lru.py``): valid documents weigh
their estimated AST size; documents that failed keep only their errors (message,
locations, code: no source text, no AST), in a small cache of their own, so
distinct failing texts cannot hold memory. The caches count hits and misses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2b

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
from analytics_graph.api.engine.lru import SizedLRU

_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
MAX_COMMENTS = 200
MAX_SOURCE_LENGTH = 100_000
AST_BYTES_PER_CHAR = 140
"""A parsed document weighs about this many bytes per character of its text (measured)."""
MAX_MESSAGE_CHARS = 500


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


def digest(text: str) -> bytes:
    """The key of a text in the caches: 16 bytes of BLAKE2b."""
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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
        max_bytes: int = 64 * 1024 * 1024,
        max_failed: int = 256,
    ) -> None:
        self.schema = schema
        self.rules = validation_rules(limits, introspection=introspection)
        self.max_tokens = limits.max_tokens
        self.max_chars = min(limits.max_query_chars, MAX_SOURCE_LENGTH)
        self.suggestions = suggestions
        self.maxsize = maxsize
        self.valid: SizedLRU[Prepared] = SizedLRU(maxsize, max_bytes)
        self.failed: SizedLRU[Prepared] = SizedLRU(max_failed, 1024 * 1024)
        self.hits = 0
        self.misses = 0

    def prepare(self, query: str) -> Prepared:
        """The parsed and validated document for ``query`` (cached); a text longer
        than the limit is refused before it is hashed or parsed."""
        if len(query) > self.max_chars:
            return _too_long(len(query), self.max_chars)
        key = digest(query)
        found = self.valid.get(key) or self.failed.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        prepared = self._prepare(query)
        if prepared.errors:
            slim = _slim(prepared.errors)
            prepared = Prepared(None, slim)
            self.failed.put(key, prepared, sum(len(e.message) + 200 for e in slim))
        else:
            self.valid.put(key, prepared, len(query) * AST_BYTES_PER_CHAR + 1024)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(
                query,
                max_lexical_tokens=self.max_tokens,
                max_comments=MAX_COMMENTS,
                max_source_length=self.max_chars,
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


def _slim(errors: Sequence[GraphQLError]) -> tuple[GraphQLError, ...]:
    """The errors as clients see them, holding neither the source text nor the AST."""
    slim = []
    for error in errors:
        message = error.message
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "..."
        copy = GraphQLError(message, extensions=error.extensions)
        copy.locations = error.locations
        slim.append(copy)
    return tuple(slim)


def _too_long(length: int, limit: int) -> Prepared:
    error = GraphQLError(
        f"query: the document is {length} characters long; at most {limit} are allowed",
        extensions={"code": "GRAPHQL_PARSE_FAILED", "argument": "query"},
    )
    return Prepared(None, (error,))
