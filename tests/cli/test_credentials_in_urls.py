"""A base URL that carries credentials (``user:password@``, ``?api_key=``) must not carry
them into error messages, the run's stored error, or any report."""

from __future__ import annotations

from pathlib import Path

from benchroute._urls import display_url
from tests.conftest import run_cli, write_project, write_suite


def test_display_url_drops_userinfo_query_and_fragment() -> None:
    assert (
        display_url("https://u:p4ss@api.example.com:8443/v1?key=k3y#frag")
        == "https://api.example.com:8443/v1"
    )
    assert display_url("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    assert display_url("http://[::1") == "<invalid URL>"


def test_a_base_url_with_credentials_is_rejected_without_echoing_them(tmp_path: Path) -> None:
    for url, named in (
        ("http://alice:s3cretpw@127.0.0.1:9/v1", "user:password@"),
        ("http://127.0.0.1:9/v1?api-key=s3cretpw", "'api-key'"),
    ):
        project = write_project(tmp_path, {"down": {"provider": "openai", "base_url": url, "model": "d"}})
        suite = write_suite(tmp_path, "s", [{"id": "a", "input": "hi", "expected": "hi"}])
        proc = run_cli("run", str(suite), "--config", str(project))
        assert proc.returncode == 2, proc.stderr
        assert "base_url" in proc.stderr and named in proc.stderr and "api_key_env" in proc.stderr
        assert "s3cretpw" not in proc.stderr + proc.stdout
        assert not (tmp_path / "store.db").exists() or "s3cretpw" not in (
            tmp_path / "store.db"
        ).read_bytes().decode("latin-1")
    # An ordinary query parameter (e.g. an API version) is fine.
    project = write_project(
        tmp_path,
        {
            "ok": {
                "provider": "openai",
                "base_url": "http://127.0.0.1:9/v1?api-version=2024-06-01",
                "model": "d",
            }
        },
    )
    assert run_cli("models", "list", "--config", str(project)).returncode == 0
