"""Implementations chosen by name, each with the typed config it takes (LeRobot's pattern, no metaclass magic).

    @PERCEPTION.register("yolo", config=YoloConfig)
    class YoloPerception: ...                       # built as YoloPerception(config)

    PERCEPTION.build("yolo")                        # the config's defaults
    PERCEPTION.build("yolo", YoloConfig(conf=0.3))  # a config of the registered type, checked

An implementation registered without a config is built with no arguments. Names and config types are
checked when a stack is configured, so a typo fails before anything is built, with the known names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hvla.core.errors import ConfigError, RegistryError

T = TypeVar("T")


@dataclass(frozen=True)
class Registered(Generic[T]):
    name: str
    factory: T  # a class or a function that returns the implementation
    config: type | None  # the frozen dataclass the factory takes as its first argument (None: takes none)


class Registry(Generic[T]):
    """Maps a short name (`oracle`, `scripted`, `yolo`, `kitchen`, ...) to an implementation of one layer."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Registered[T]] = {}

    def register(self, name: str, config: type | None = None) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            known = self._items.get(name)
            if known is not None and known.factory is not item:
                raise RegistryError(f"{self.kind} '{name}' is already registered")
            self._items[name] = Registered(name, item, config)
            return item

        return decorate

    def entry(self, name: str) -> Registered[T]:
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} '{name}'; known: {sorted(self._items)}") from None

    def get(self, name: str) -> T:
        """The registered class or factory itself (for its class attributes, or to build it by hand)."""
        return self.entry(name).factory

    def config_type(self, name: str) -> type | None:
        return self.entry(name).config

    def check_config(self, name: str, config: Any) -> None:
        """Fail unless `config` is None (the defaults) or an instance of the type `name` takes."""
        wanted = self.entry(name).config
        if config is None:
            return
        if wanted is None:
            raise ConfigError(f"{self.kind} '{name}' takes no config; got a {type(config).__name__}")
        if not isinstance(config, wanted):
            raise ConfigError(f"{self.kind} '{name}' takes a {wanted.__name__}; got a {type(config).__name__}")

    def build(self, name: str, config: Any = None, **parts: Any) -> Any:
        """An instance of `name` from `config` (None: the config type's defaults) and run-time `parts`."""
        self.check_config(name, config)
        entry = self.entry(name)
        if entry.config is None:
            return entry.factory(**parts)
        return entry.factory(config if config is not None else entry.config(), **parts)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
