"""What a query selects under a field: lets a resolver load only what is asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


def selected(info: strawberry.Info[Any, Any]) -> frozenset[str]:
    """The names of the fields selected directly under the field being resolved,
    through fragments and inline fragments.

    ``@skip`` / ``@include`` are not evaluated: a skipped field counts as selected
    (a resolver loads a little more than needed, never less).
    """
    raw = info._raw_info  # graphql-core's info: the selection's AST, as parsed once
    names: set[str] = set()
    _collect((n.selection_set for n in raw.field_nodes), raw.fragments, names, set())
    return frozenset(names)


def _collect(
    sets: Iterable[SelectionSetNode | None],
    fragments: dict[str, FragmentDefinitionNode],
    names: set[str],
    seen: set[str],
) -> None:
    for selection_set in sets:
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                _collect([selection.selection_set], fragments, names, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:  # validation forbids cycles
                    seen.add(name)
                    _collect([fragments[name].selection_set], fragments, names, seen)
