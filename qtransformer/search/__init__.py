"""Mixed-precision bit-width search (AutoQKeras-style, KerasTuner, distributed chief +
workers): ``autoq.py`` is the search, ``cli.py`` the command line
(``python -m qtransformer.search``)."""

from .cli import main

__all__ = ["main"]
