"""Test doubles for the providers benchroute talks to.

:class:`FakeServer` is a real HTTP server on loopback that speaks the OpenAI chat
completions API (``/v1/chat/completions``, streaming included) and the Anthropic Messages
API (``/v1/messages``). Tests point a client at :attr:`FakeServer.base_url`, script what
each model answers with :meth:`FakeServer.script`, :meth:`FakeServer.answers` or
:attr:`FakeServer.responder`, inject failures with :meth:`FakeServer.fault` and
:meth:`FakeServer.rate_limit`, script model versions (the ``model`` and
``system_fingerprint`` reported, and the replies recorded per version) with
:meth:`FakeServer.add_version` / :meth:`FakeServer.use_version`, and assert on :attr:`FakeServer.requests`.

The same server runs as a separate process for benchmarks: ``python -m benchroute.testing``
prints ``READY <url>`` once listening (see ``benchroute.testing.__main__``).
"""

from ._media import Attachment, attachments
from ._server import FakeServer, ModelVersion, RecordedRequest, Reply, Responder

__all__ = ["Attachment", "FakeServer", "ModelVersion", "RecordedRequest", "Reply", "Responder", "attachments"]
