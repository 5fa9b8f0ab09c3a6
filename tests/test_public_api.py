"""The public API is exactly what ``benchroute.__all__`` lists."""

from __future__ import annotations

import importlib

import benchroute

EXPECTED_ALL = [
    "BenchrouteError",
    "Case",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "Message",
    "ModelSpec",
    "ProjectConfig",
    "Provider",
    "ProviderError",
    "Result",
    "RunError",
    "RunOptions",
    "RunOutcome",
    "RunRecord",
    "Runner",
    "Score",
    "Scorer",
    "ScorerSpec",
    "Store",
    "SuiteSpec",
    "Usage",
    "__version__",
    "load_project",
    "load_suite",
    "scorer",
]


def test_all_is_pinned_and_sorted() -> None:
    assert benchroute.__all__ == EXPECTED_ALL
    assert sorted(EXPECTED_ALL) == EXPECTED_ALL
    assert len(set(EXPECTED_ALL)) == len(EXPECTED_ALL)


def test_every_public_name_is_importable() -> None:
    module = importlib.import_module("benchroute")
    for name in EXPECTED_ALL:
        assert getattr(module, name, None) is not None, name
        namespace: dict[str, object] = {}
        exec(f"from benchroute import {name}", namespace)
        assert namespace[name] is getattr(module, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from benchroute import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(EXPECTED_ALL)


def test_public_names_that_are_re_exports() -> None:
    from benchroute.config import load_suite
    from benchroute.scorers import scorer

    assert benchroute.load_suite is load_suite
    assert benchroute.scorer is scorer
    assert isinstance(benchroute.__version__, str)
    assert issubclass(benchroute.ConfigError, benchroute.BenchrouteError)
    assert issubclass(benchroute.RunError, benchroute.BenchrouteError)


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(benchroute, "load_cases")  # public in benchroute.config only
    assert not hasattr(benchroute, "no_such_name")


def test_the_shared_types_module_is_public_and_re_exported() -> None:
    # config and providers both speak these shapes; they live below both (no import cycle).
    import benchroute.providers
    import benchroute.types

    assert benchroute.types.__all__ == [
        "Completion", "CompletionRequest", "Message", "Role", "StreamChunk", "Usage"
    ]  # fmt: skip
    for name in ("Completion", "CompletionRequest", "Message", "Usage"):
        assert getattr(benchroute.providers, name) is getattr(benchroute.types, name)
        assert getattr(benchroute, name) is getattr(benchroute.types, name)
    # The gateway's stream chunks are a provider-contract shape, exported where providers are.
    assert benchroute.providers.StreamChunk is benchroute.types.StreamChunk


def test_names_other_packages_use_are_public() -> None:
    # Each of these was imported from another package's private module before; the import
    # contract (tests/test_layering.py) now forbids that, so they are part of the surfaces.
    import benchroute.analysis
    import benchroute.config
    import benchroute.providers
    import benchroute.reports
    import benchroute.scorers

    surfaces = {
        benchroute.analysis: ["GateReport", "evaluate_gates", "is_conversation", "summarize_load"],
        benchroute.config: ["GOAL_PHRASE", "GateSpec", "Segment"],
        benchroute.providers: [
            "FATAL_KINDS",
            "RETRYABLE_KINDS",
            "LoadSender",
            "UsageTally",
            "close_load_sender",
            "prepare_load_sender",
        ],
        benchroute.reports: ["ranking_json", "ranking_table"],
        benchroute.scorers: [
            "EFFICIENCY",
            "FUNCTIONAL_PASS",
            "SECURITY_FINDINGS",
            "ScorerInfo",
            "check_scorer",
            "check_slos",
            "declare",
            "default_judge_spec",
            "score_kind",
            "scorer_info",
            "summarize_load",
        ],
    }
    for module, names in surfaces.items():
        for name in names:
            assert name in module.__all__, (module.__name__, name)
            assert getattr(module, name) is not None
    assert benchroute.analysis.summarize_load is benchroute.scorers.summarize_load
