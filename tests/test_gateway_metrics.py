"""``GET /metrics`` of the real gateway after traffic through the official ``openai`` SDK:
requests by alias/model/status, latency and TTFT histograms, tokens, cost, breaker states and
the request-log queue — with bounded labels and no provider key anywhere."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from benchroute.testing import FakeServer
from tests._gateway import GatewayProcess, closed_port_url, openai_model, write_gateway_project

ASK = [{"role": "user", "content": "count me"}]


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_metrics_count_requests_tokens_cost_and_breakers(tmp_path: Path) -> None:
    secret = "sk-metrics-" + "m" * 40
    with FakeServer(api_key=secret) as upstream:
        models = {
            "mini": openai_model(
                upstream.base_url,
                "gpt-mini",
                api_key_env="GW_METRICS_KEY",
                prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            ),
            "dead": openai_model(closed_port_url(), "gpt-dead", api_key_env="GW_METRICS_KEY"),
        }
        gateway = {
            "aliases": {"support": ["mini"], "broken": ["dead"]},
            "breaker": {"consecutive_failures": 2, "open_s": 60},
        }
        config = write_gateway_project(tmp_path, models, gateway)
        with GatewayProcess(config, env={"GW_METRICS_KEY": secret}) as gw:
            client = gw.client()
            plain = client.chat.completions.create(model="support", messages=ASK).usage
            streamed = list(
                client.chat.completions.create(
                    model="support", messages=ASK, stream=True, stream_options={"include_usage": True}
                )
            )[-1].usage
            assert plain is not None and streamed is not None
            for typo in ("suport", "supp0rt"):
                with pytest.raises(openai.NotFoundError):
                    client.chat.completions.create(model=typo, messages=ASK)
            for _ in range(3):  # two connection failures open the breaker; the third is refused
                with pytest.raises(openai.APIStatusError):
                    client.chat.completions.create(model="broken", messages=ASK)
            time.sleep(0.5)  # the log writer's flush
            response = httpx.get(f"{gw.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert secret not in text
    samples = _samples(text)
    v = _value
    assert v(samples, "benchroute_gateway_requests_total", alias="support", model="mini", status="200") == 2
    # Unknown aliases share one label value: a client's typo makes no new series.
    assert (
        v(samples, "benchroute_gateway_requests_total", alias="(unknown)", model="(none)", status="404") == 2
    )
    assert v(samples, "benchroute_gateway_requests_total", alias="broken", model="(none)", status="502") == 2
    assert v(samples, "benchroute_gateway_requests_total", alias="broken", model="(none)", status="503") == 1
    assert v(samples, "benchroute_gateway_request_duration_seconds_count", alias="support", model="mini") == 2
    assert (
        v(samples, "benchroute_gateway_time_to_first_token_seconds_count", alias="support", model="mini") == 1
    )
    output_tokens = plain.completion_tokens + streamed.completion_tokens
    input_tokens = plain.prompt_tokens + streamed.prompt_tokens
    assert output_tokens > 0 and input_tokens > 0
    tokens = "benchroute_gateway_tokens_total"
    assert v(samples, tokens, alias="support", model="mini", kind="output") == output_tokens
    assert v(samples, tokens, alias="support", model="mini", kind="input") == input_tokens
    cost = v(samples, "benchroute_gateway_cost_usd_total", alias="support", model="mini")
    assert cost == pytest.approx((input_tokens * 1.0 + output_tokens * 2.0) / 1e6)
    breaker = {
        state: v(samples, "benchroute_gateway_breaker_state", model=model, endpoint_id=ident, state=state)
        for model, ident, state in (
            (labels["model"], labels["endpoint_id"], labels["state"])
            for (name, frozen), _ in samples.items()
            if name == "benchroute_gateway_breaker_state"
            for labels in [dict(frozen)]
            if labels["model"] == "dead"
        )
    }
    assert breaker == {"open": 1.0, "closed": 0.0, "half_open": 0.0}
    assert v(samples, "benchroute_gateway_breaker_transitions_total", model="dead", state="open") == 1
    assert v(samples, "benchroute_gateway_log_queue_depth") == 0
    assert v(samples, "benchroute_gateway_log_rows_written_total") == 7
    resident = v(samples, "process_resident_memory_bytes")
    assert resident is not None and resident > 0


def test_metrics_off(tmp_path: Path) -> None:
    with FakeServer() as upstream:
        models = {"mini": openai_model(upstream.base_url, "gpt-mini")}
        config = write_gateway_project(tmp_path, models, {"metrics": False})
        with GatewayProcess(config) as gw:
            assert httpx.get(f"{gw.url}/metrics").status_code == 404
