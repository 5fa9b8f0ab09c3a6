"""The command line interface (``benchroute``)."""

from . import _rank  # noqa: F401  (registers `benchroute rank`)
from . import _gateway  # noqa: F401  (registers `benchroute gateway ...`)
from ._app import app, main

__all__ = ["app", "main"]
