"""Read-model values served as API objects, without copying.

Where a read model's class has an attribute for each field of an API type whose
fields are all plain (read off attributes by Strawberry's default resolver), its
objects are served as they are (:class:`Served`); each pairing is checked when
it is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from strawberry.types.base import get_object_definition

T = TypeVar("T")


class Served(Generic[T]):
    """Objects of the read-model class ``model`` served as the API type ``api``;
    raises ``TypeError`` unless ``model`` has an attribute for each of ``api``'s
    fields (and ``api``'s fields are all plain attributes)."""

    def __init__(self, api: type[T], model: type) -> None:
        definition = get_object_definition(api, strict=True)
        names = (
            {f.name for f in dataclasses.fields(model)}
            if dataclasses.is_dataclass(model)
            else set()
        )
        for field in definition.fields:
            if field.base_resolver is not None or field.arguments:
                raise TypeError(f"{api.__name__}.{field.python_name} is not a plain field")
            if field.python_name not in names and not hasattr(model, field.python_name):
                raise TypeError(f"{model.__qualname__} has no {field.python_name!r} to serve")

    def one(self, value: Any) -> T:
        return cast(T, value)

    def many(self, values: Sequence[Any]) -> list[T]:
        return cast(list[T], values)
