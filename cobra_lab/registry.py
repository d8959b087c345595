"""A tiny name -> factory registry (timm style) so choices are data, not if/else ladders."""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import check_choice

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; ``build`` raises a one-line UserError for unknown names.

    Besides the factories registered in code, a registry may offer ones found at each lookup (``discover``: the
    files of a folder, say), so entries added while a program runs are known at once."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._finders: list[Callable[[], dict[str, Callable[..., T]]]] = []

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise KeyError(f"{self.kind} {name!r} registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def discover(self, find: Callable[[], dict[str, Callable[..., T]]]) -> None:
        """Also offer the factories ``find()`` returns, asked afresh at each lookup; it must not return a name
        registered in code (it says which file shadows one, the registry cannot)."""
        self._finders.append(find)

    def _all(self) -> dict[str, Callable[..., T]]:
        """The registered factories and the ones found now."""
        found = dict(self._factories)
        for find in self._finders:
            found.update(find())
        return found

    def registered(self) -> list[str]:
        """The names registered in code (not found by ``discover``), sorted."""
        return sorted(self._factories)

    def names(self) -> list[str]:
        """All names, registered and found, sorted."""
        return sorted(self._all())

    def get(self, name: str) -> Callable[..., T]:
        """The factory under ``name``."""
        factories = self._all() if self._finders and name not in self._factories else self._factories
        check_choice(self.kind, name, factories)
        return factories[name]

    def build(self, name: str, *args, **kwargs) -> T:
        """Call the factory under ``name``."""
        return self.get(name)(*args, **kwargs)

    def __contains__(self, name: object) -> bool:
        return name in self._factories or (bool(self._finders) and name in self._all())
