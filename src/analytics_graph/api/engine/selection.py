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

_CACHE_SIZE = 4096
_known: dict[tuple[int, str | None], tuple[FieldNode, frozenset[str]]] = {}
"""What :func:`selected_under` found, by the field's node (a document is parsed once
and kept by the engine's cache, so the same nodes come back; a node belongs to one
document, whose fragments are those of every execution it is in) and the name under
it; the node is kept with it, so an id is never another node's."""


def selected(info: strawberry.Info[Any, Any]) -> frozenset[str]:
    """The names of the fields selected directly under the field being resolved,
    through fragments and inline fragments.

    ``@skip`` / ``@include`` are not evaluated: a skipped field counts as selected
    (a resolver loads a little more than needed, never less).
    """
    return selected_under(info, None)


def selected_under(info: strawberry.Info[Any, Any], name: str | None) -> frozenset[str]:
    """The names of the fields selected directly under the fields ``name`` selected
    under the field being resolved (all of them merged; none when it is not
    selected), as :func:`selected` finds them; ``None``: :func:`selected`."""
    raw = info._raw_info  # graphql-core's info: the selection's AST, as parsed once
    nodes, fragments = raw.field_nodes, raw.fragments
    if len(nodes) == 1:
        known = _known.get((id(nodes[0]), name))
        if known is not None and known[0] is nodes[0]:
            return known[1]
    sets: Iterable[SelectionSetNode | None] = (n.selection_set for n in nodes)
    if name is not None:
        fields: list[FieldNode] = []
        _collect(sets, fragments, fields, set())
        sets = (f.selection_set for f in fields if f.name.value == name)
    found: list[FieldNode] = []
    _collect(sets, fragments, found, set())
    names = frozenset(f.name.value for f in found)
    if len(nodes) == 1:
        if len(_known) >= _CACHE_SIZE:
            _known.clear()
        _known[(id(nodes[0]), name)] = (nodes[0], names)
    return names


def _collect(
    sets: Iterable[SelectionSetNode | None],
    fragments: dict[str, FragmentDefinitionNode],
    found: list[FieldNode],
    seen: set[str],
) -> None:
    for selection_set in sets:
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                _collect([selection.selection_set], fragments, found, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:  # validation forbids cycles
                    seen.add(name)
                    _collect([fragments[name].selection_set], fragments, found, seen)
