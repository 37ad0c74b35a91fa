"""What a shared question follows: told by its subscription field, read by the hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

Update = Callable[[int], Awaitable[Any]]
"""Reads the update for a position (the subscription's event), or ``None``."""


class Watch:
    """Set on the context of a question the hub runs. Its subscription field, instead
    of following change notices itself, names here the account or video it follows
    and how to read an update (:meth:`follow`); the hub then reads updates in its
    rounds, for many questions at once."""

    __slots__ = ("account", "update", "video")

    def __init__(self) -> None:
        self.account: str | None = None
        self.video: str | None = None
        self.update: Update | None = None

    def follow(self, update: Update, *, account: UUID | None, video: UUID | None) -> None:
        self.update = update
        self.account = None if account is None else str(account)
        self.video = None if video is None else str(video)
