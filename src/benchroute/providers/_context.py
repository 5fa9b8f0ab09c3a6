"""What providers share: one HTTP client session and the secrets resolver.

One ``aiohttp.ClientSession`` serves every remote model in a run, or in a gateway process
for its whole life (measured here: aiohttp costs ~8x less CPU per request than httpx).
Providers never close it; only :meth:`ProviderContext.aclose` does, when its owner (the
run, the server) ends, and nothing replaces it under requests in flight. Keys are read
from the environment variable a model names; every key read is remembered so
:meth:`Secrets.redact` can scrub it from any text before that text is logged, stored or
shown.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._errors import ConfigError

if TYPE_CHECKING:
    import aiohttp

    from ..config import ModelSpec


class Secrets:
    """Reads provider keys from the environment and scrubs them from text."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._seen: set[str] = set()

    def key_for(self, spec: ModelSpec) -> str | None:
        if spec.api_key_env is None:
            return None
        value = self._environ.get(spec.api_key_env)
        if not value:
            raise ConfigError(
                f"model {spec.name!r}: environment variable {spec.api_key_env} is not set",
                hint=f"export {spec.api_key_env}=... (the key itself never goes in benchroute.yaml)",
            )
        self._seen.add(value)
        return value

    def remember(self, name: str) -> None:
        """Scrub the value of environment variable ``name`` (if set) from redacted text, as
        if a provider had read it: for text produced before or without any provider."""
        value = self._environ.get(name)
        if value:
            self._seen.add(value)

    def redact(self, text: str) -> str:
        for value in self._seen:
            if value and value in text:
                text = text.replace(value, "***")
        return text


class ProviderContext:
    """Shared resources handed to every provider a run creates."""

    def __init__(self, *, secrets: Secrets | None = None, connection_limit: int = 100) -> None:
        self.secrets = secrets or Secrets()
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        # Sessions replaced by a larger pool: closed by aclose(), never under a request.
        self._retired: list[aiohttp.ClientSession] = []

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared HTTP session, created on first use inside the running event loop
        (aiohttp is imported only then: commands and local-only runs never pay for it)."""
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit, limit_per_host=0, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def ensure_connections(self, limit: int) -> None:
        """Make room for ``limit`` connections at once (a load test needs more than an eval).
        The next request opens the larger pool; the smaller one is kept, with whatever is
        still reading from it, until :meth:`aclose`."""
        if limit <= self._connection_limit:
            return
        self._connection_limit = limit
        if self._session is not None and not self._session.closed:
            self._retired.append(self._session)
        self._session = None

    async def aclose(self) -> None:
        """Close the shared session (and any it replaced): the owner's last call."""
        for session in (*self._retired, self._session):
            if session is not None and not session.closed:
                await session.close()
        self._retired.clear()
        self._session = None
