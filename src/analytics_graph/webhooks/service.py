"""The webhook service: the dispatcher and the sender, started and stopped together.

Usage (in the composition root, beside the projection runner)::

    async with WebhookService.of(settings, url, store, pool, listener):
        ...  # deliveries are made and sent while the block runs
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from analytics_graph.config import Settings
from analytics_graph.eventstore import EventStore
from analytics_graph.eventstore.notify import Listener
from analytics_graph.webhooks.addresses import UrlPolicy
from analytics_graph.webhooks.dispatcher import Dispatcher, DispatchOptions
from analytics_graph.webhooks.sender import Sender, SendOptions


def policy(settings: Settings) -> UrlPolicy:
    """The URL policy the settings ask for."""
    return UrlPolicy(allow_private=settings.webhooks_allow_private)


class WebhookService:
    """Runs a :class:`Dispatcher` and a :class:`Sender` as background tasks."""

    def __init__(self, dispatcher: Dispatcher, sender: Sender) -> None:
        self.dispatcher = dispatcher
        self.sender = sender
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def of(
        cls,
        settings: Settings,
        url: str,
        store: EventStore,
        pool: asyncpg.Pool,
        listener: Listener | None,
    ) -> WebhookService:
        dispatch = DispatchOptions(metrics_interval=settings.webhook_metrics_interval_seconds)
        send = SendOptions(
            policy=policy(settings),
            timeout=settings.webhook_timeout_seconds,
            retry_base=settings.webhook_retry_base_seconds,
            retry_cap=settings.webhook_retry_cap_seconds,
            failure_window=settings.webhook_failure_window_seconds,
        )
        sender = Sender(url, pool, send)
        return cls(Dispatcher(url, store, listener, dispatch, sender.poke), sender)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="webhook-dispatcher"),
            asyncio.create_task(self.sender.run(), name="webhook-sender"),
        ]

    async def stop(self) -> None:
        """Cancels both; a dispatch in flight rolls back, an attempt in flight is sent
        again later (at least once)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def __aenter__(self) -> WebhookService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
