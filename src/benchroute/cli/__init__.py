"""The command line interface (``benchroute``)."""

from ._app import app, main

__all__ = ["app", "main"]
