"""The one place the command line reads its settings (from the environment, once per
command)."""

from __future__ import annotations

import typer

from analytics_graph.config import Settings


def settings() -> Settings:
    """The settings in the environment; a bad value is a usage error (exit status 2)."""
    try:
        return Settings.from_environ()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
