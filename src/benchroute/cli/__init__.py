"""The command line interface (``benchroute``)."""

from . import (
    _gateway,  # noqa: F401  (registers `benchroute gateway ...`)
    _rank,  # noqa: F401  (registers `benchroute rank`)
)
from ._app import app, main

__all__ = ["app", "main"]
