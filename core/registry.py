"""Implementations chosen by name: an explicit decorator and loud errors, no metaclass magic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from hvla.core.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a short name (`oracle`, `scripted`, `yolo`, ...) to an implementation of one layer."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise RegistryError(f"{self.kind} '{name}' is already registered")
            self._items[name] = item
            return item

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(
                f"unknown {self.kind} '{name}'; known: {sorted(self._items)}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
