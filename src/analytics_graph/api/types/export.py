"""Download links of exports: ``exportLink`` on ``Account`` and ``Video``."""

from __future__ import annotations

from typing import TypeAlias
from uuid import UUID

import strawberry

from analytics_graph.api.context import Info
from analytics_graph.api.errors import BadUserInput, ProAccountRequired
from analytics_graph.api.types.ranges import DateRangeInput, resolve
from analytics_graph.export.links import link_url
from analytics_graph.export.request import BadParameter, ExportRequest, Format, Kind, Section
from analytics_graph.export.service import request_origin
from projections.entities.queries import AccountEntity

# The export package's own enums, shown in the schema under these names.
strawberry.enum(Format, name="ExportFormat", description="An export's file format.")
strawberry.enum(
    Section,
    name="ExportSection",
    description="A section of an account's analytics (a CSV file holds one; XLSX holds all).",
)
ExportFormat: TypeAlias = Format
ExportSection: TypeAlias = Section


def export_link(
    info: Info,
    kind: Kind,
    id: UUID,
    owner: AccountEntity,
    format: Format,
    range: DateRangeInput | None,
    section: Section | None,
) -> str:
    """The URL of one export of ``owner``'s account or of one of its videos; raises
    :class:`BadUserInput` for a section where none applies."""
    if not owner.is_pro:
        raise ProAccountRequired(owner.id)
    # The answer holds a token that expires: never serve it from the answer cache.
    info.context.beyond_read_models = True
    today = info.context.today
    days = resolve(range, today) if range else None
    try:
        request = ExportRequest.of(kind, id, format, days, section or None, today=today)
    except BadParameter as error:
        raise BadUserInput(error.parameter, error.reason) from None
    exports, origin = request_origin()
    return link_url(origin, exports.secret, request)
