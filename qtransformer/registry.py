"""The one shape every registry here has (boards, compression methods, layer kinds): a name ->
entry mapping where a second entry under a name, or a lookup of an unknown name, is a
:class:`QTError` that names what is known."""

from __future__ import annotations

from typing import Generic, TypeVar

from .errors import QTError

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """``what`` names the entries in messages ("board", "pruning method", "layer kind")."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def add(self, name: str, entry: T) -> T:
        if name in self:
            raise QTError(f"{self.what} {name!r} is registered twice")
        self[name] = entry
        return entry

    def lookup(self, name: str) -> T:
        if name not in self:
            raise QTError(f"unknown {self.what} {name!r}; known: {', '.join(self)}")
        return self[name]
