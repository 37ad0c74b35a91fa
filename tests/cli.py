"""Running ``analytics-graph`` in a subprocess, configured only by what a test gives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def cli_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its ``ANALYTICS_GRAPH_`` variables, plus
    ``settings`` (full variable names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_GRAPH_")}
    return env | dict(settings)


def run_cli(settings: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``analytics-graph ARGS`` to its end (at most 120 s), with :func:`cli_environment`."""
    return subprocess.run(
        [sys.executable, "-m", "analytics_graph", *args],
        env=cli_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
