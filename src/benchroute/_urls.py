"""URLs as they may be shown: in an error message, a log line, a report.

A base URL in benchroute.yaml may carry credentials the way some gateways take them
(``https://user:password@host/v1``, ``...?api_key=...``). Keys never belong in the config,
but when one is there anyway it must not travel further than the config: every place that
prints or stores a URL for people goes through :func:`display_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def display_url(url: str) -> str:
    """``url`` without its user:password part, query string and fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL at all: show nothing of it that could be a secret
        return "<invalid URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
