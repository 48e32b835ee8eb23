"""A cache by object identity, for values asked for on every line or file of a run about one object (the
redaction rules, the credential rules) whose hash would cost more than the lookup saves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    """`make(key)` computed once per object in use. Each object is kept with its value, so its id cannot be
    reused by another object while the entry lives; past `size` objects the cache starts again."""

    def __init__(self, make: Callable[[K], V], size: int = 16) -> None:
        self._make = make
        self._size = size
        self._known: dict[int, tuple[K, V]] = {}

    def __call__(self, key: K) -> V:
        known = self._known.get(id(key))
        if known is not None and known[0] is key:
            return known[1]
        value = self._make(key)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[id(key)] = (key, value)
        return value
