"""analytics-graph: event-sourced creator analytics on PostgreSQL."""

__version__ = "0.1.0"
