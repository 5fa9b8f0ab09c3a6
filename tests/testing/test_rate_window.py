"""The fake server's sliding-window rate limit (used by load tests to find a limit precisely)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from benchroute.testing import FakeServer


def _post(server: FakeServer) -> tuple[int, dict[str, str]]:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(
        server.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_sliding_window_admits_rate_times_window_then_refuses_until_the_oldest_expires() -> None:
    with FakeServer() as server:
        server.rate_limit(20, window_s=0.5)  # 10 per trailing 0.5 s, nothing banked
        started = time.monotonic()
        replies = [_post(server) for _ in range(14)]
        elapsed = time.monotonic() - started
        statuses = [status for status, _ in replies]
        assert elapsed < 0.5
        assert statuses == [200] * 10 + [429] * 4
        waits = [float(headers["Retry-After"]) for status, headers in replies if status == 429]
        assert all(0 < w <= 0.5 for w in waits)
        time.sleep(max(waits))
        assert _post(server)[0] == 200


def test_a_limit_is_a_bucket_or_a_window_not_both() -> None:
    with FakeServer() as server, pytest.raises(ValueError, match="not both"):
        server.rate_limit(20, burst=5, window_s=1)
