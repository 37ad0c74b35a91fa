"""What an export's file holds, and what it is called."""

from __future__ import annotations

import re

from analytics_graph.export.reading import AccountNumbers, VideoNumbers
from analytics_graph.export.request import ExportRequest, Format
from analytics_graph.export.tables import Table, account_tables, video_long_table, video_tables

Numbers = AccountNumbers | VideoNumbers
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(wanted: ExportRequest, numbers: Numbers) -> str:
    """``<handle>[_<section>|_video_<id>]_<start>_<end>.<format>``."""
    parts = [SAFE_NAME.sub("_", numbers.account.handle)]
    if isinstance(numbers, VideoNumbers):
        parts += ["video", str(numbers.video.id)]
        start, end = numbers.analytics.start, numbers.analytics.end
    else:
        start, end = numbers.days.start, numbers.days.end
    if wanted.section is not None:
        parts.append(wanted.section.value)
    parts += [start.isoformat(), end.isoformat()]
    return "_".join(parts) + "." + wanted.format.value


def tables_of(wanted: ExportRequest, numbers: Numbers) -> list[Table]:
    """What the file holds: one table for a CSV file, every sheet for XLSX."""
    if isinstance(numbers, VideoNumbers):
        return [video_long_table(numbers)] if wanted.format is Format.CSV else video_tables(numbers)
    return account_tables(numbers, wanted.section)
