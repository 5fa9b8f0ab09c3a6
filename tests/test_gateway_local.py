"""The embedded local model (SmolLM2, no key) behind the gateway, as the quick start shows
it: the quick start's project served as it is (every model its own alias)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests._gateway import GatewayProcess

pytest.importorskip("llama_cpp", reason="needs the [local] extra")
pytestmark = pytest.mark.local_model

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart" / "benchroute.yaml"


def test_the_quickstart_models_behind_the_gateway(tmp_path: Path) -> None:
    data = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    data["store"] = str(tmp_path / "store.db")
    config = tmp_path / "benchroute.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with GatewayProcess(config) as gw:
        client = gw.client(timeout=120)
        assert "smollm2" in {m.id for m in client.models.list()}
        raw = client.chat.completions.with_raw_response.create(
            model="smollm2",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            max_tokens=16,
        )
        completion = raw.parse()
        assert completion.choices[0].message.content
        assert completion.usage is not None and completion.usage.completion_tokens > 0
        assert raw.headers["x-benchroute-model"] == "smollm2"
        chunks = list(
            client.chat.completions.create(
                model="smollm2",
                messages=[{"role": "user", "content": "Say hello."}],
                max_tokens=8,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
