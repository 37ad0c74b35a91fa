"""A real HTTP receiver of webhooks on loopback (uvicorn), whose behaviour a test sets:
answer 2xx, fail with a status, hang past the sender's timeout, or redirect."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.e2e.conftest import free_port


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict[str, Any]:
        """The body, after the ``standardwebhooks`` library verified its signature."""
        payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return payload


@dataclass
class Receiver:
    """What arrived (every request, in arrival order) and how to answer the next ones."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 204
    hang_seconds: float = 0.0
    delay_seconds: float = 0.0
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        async with self.arrived:
            self.received.append(Received(headers, body))
            self.arrived.notify_all()
        if self.status in (301, 302, 307, 308):
            return Response(status_code=self.status, headers={"location": "http://127.0.0.1:9/"})
        return Response(b"nope" if self.status >= 400 else b"", status_code=self.status)

    def accepted(self) -> list[Received]:
        """The requests answered with success (received while the status was 2xx)."""
        return list(self.received)

    def unique(self) -> dict[str, Received]:
        """The last request of each message id, in order of first arrival."""
        seen: dict[str, Received] = {}
        for item in self.received:
            seen[item.message_id] = item
        return seen

    async def wait_for(self, predicate: Any, within: float = 30.0) -> None:
        """Waits until ``predicate(self)`` holds (a condition on what arrived)."""
        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(lambda: predicate(self))

    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.body) for r in self.received]


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver listening on a free loopback port until the block exits."""
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/hook")
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
