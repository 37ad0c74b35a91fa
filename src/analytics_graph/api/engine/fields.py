"""Strawberry fields whose resolver docstrings become the schema's descriptions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(resolver: F) -> F:
    """``strawberry.field`` with ``resolver``'s docstring as the field description."""
    return cast(F, strawberry.field(resolver, description=inspect.getdoc(resolver)))


def mutation(resolver: F) -> F:
    """``strawberry.mutation`` with ``resolver``'s docstring as the field description."""
    return cast(F, strawberry.mutation(resolver, description=inspect.getdoc(resolver)))


def subscription(resolver: F) -> F:
    """``strawberry.subscription`` with ``resolver``'s docstring as the field description."""
    return cast(F, strawberry.subscription(resolver, description=inspect.getdoc(resolver)))
