"""The domain: accounts and videos as event-sourced aggregates. No I/O here."""

from analytics_graph.domain.aggregates import (
    Account,
    AccountType,
    HandleIndex,
    Video,
    handle_index_id,
)

__all__ = ["Account", "AccountType", "HandleIndex", "Video", "handle_index_id"]
