"""A tiny name -> factory registry (timm style) so choices are data, not if/else ladders."""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import check_choice

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; ``build`` raises a one-line UserError for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise KeyError(f"{self.kind} {name!r} registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._factories)

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered under ``name``."""
        check_choice(self.kind, name, self._factories)
        return self._factories[name]

    def build(self, name: str, *args, **kwargs) -> T:
        """Call the factory registered under ``name``."""
        return self.get(name)(*args, **kwargs)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
