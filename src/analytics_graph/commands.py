"""The use cases for asyncio callers (the GraphQL API, the CLI).

:class:`AnalyticsApplication` is synchronous (the eventsourcing library is), so
each command runs it in a worker thread and the event loop stays free. The
errors are the application's: the ``DomainError`` branch for expected failures,
``StoreError`` for the store's.

Usage::

    account = await commands.register_account("alice", "Alice")
    video = await commands.publish_video(account.id, "hello", 12.5)
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

from analytics_graph.application import AnalyticsApplication
from analytics_graph.domain.aggregates import Account, AccountType, Video


class Commands:
    """Awaitable versions of the :class:`AnalyticsApplication` use cases."""

    def __init__(self, application: AnalyticsApplication) -> None:
        self.application = application

    async def register_account(self, handle: str, display_name: str) -> Account:
        """See :meth:`AnalyticsApplication.register_account`."""
        return await asyncio.to_thread(self.application.register_account, handle, display_name)

    async def switch_to_pro(
        self, account_id: UUID | str, account_type: AccountType | str
    ) -> Account:
        """See :meth:`AnalyticsApplication.switch_to_pro`."""
        return await asyncio.to_thread(self.application.switch_to_pro, account_id, account_type)

    async def switch_to_personal(self, account_id: UUID | str) -> Account:
        """See :meth:`AnalyticsApplication.switch_to_personal`."""
        return await asyncio.to_thread(self.application.switch_to_personal, account_id)

    async def publish_video(
        self,
        account_id: UUID | str,
        caption: str,
        duration_seconds: float,
        published_at: datetime | None = None,
    ) -> Video:
        """See :meth:`AnalyticsApplication.publish_video`."""
        return await asyncio.to_thread(
            self.application.publish_video, account_id, caption, duration_seconds, published_at
        )

    async def delete_video(self, video_id: UUID | str) -> Video:
        """See :meth:`AnalyticsApplication.delete_video`."""
        return await asyncio.to_thread(self.application.delete_video, video_id)

    async def get_account(self, account_id: UUID | str) -> Account:
        """See :meth:`AnalyticsApplication.get_account`."""
        return await asyncio.to_thread(self.application.get_account, account_id)

    async def get_video(self, video_id: UUID | str) -> Video:
        """See :meth:`AnalyticsApplication.get_video`."""
        return await asyncio.to_thread(self.application.get_video, video_id)
