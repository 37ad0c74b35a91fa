"""Settings read from the environment: the whole-number ones."""

from __future__ import annotations

import pytest

from analytics_graph.config import Settings


def test_ingest_processes_default_to_none_and_take_a_whole_number() -> None:
    assert Settings.from_environ({}).ingest_processes == 0
    environ = {"ANALYTICS_GRAPH_INGEST_PROCESSES": "2"}
    assert Settings.from_environ(environ).ingest_processes == 2


@pytest.mark.parametrize("text", ["-1", "two", "1.5", "65", ""])
def test_ingest_processes_refuse_anything_else_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="ANALYTICS_GRAPH_INGEST_PROCESSES") as refused:
        Settings.from_environ({"ANALYTICS_GRAPH_INGEST_PROCESSES": text})
    assert "from 0 to 64" in str(refused.value)
