"""The gateway: one OpenAI-compatible endpoint in front of the project's models, with
failover across each alias's candidates, per-endpoint circuit breakers, streams that never
end silently, decision receipts and a lossless request log (see docs/gateway.md).

``benchroute gateway serve`` runs :func:`serve`; :class:`Gateway` is the ASGI application
itself, for embedding in another server. :func:`create_key`, :func:`list_keys` and
:func:`revoke_key` manage the gateway API keys (``benchroute gateway keys``).
"""

from ._app import Gateway
from ._auth import create_key, list_keys, revoke_key
from ._endpoints import Endpoint, endpoint_id
from ._errors import GatewayError
from ._failover import POLICY, Receipt
from ._log import RequestLogWriter
from ._server import serve

__all__ = [
    "POLICY",
    "Endpoint",
    "Gateway",
    "GatewayError",
    "Receipt",
    "RequestLogWriter",
    "create_key",
    "endpoint_id",
    "list_keys",
    "revoke_key",
    "serve",
]
