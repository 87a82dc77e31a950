"""`hvla serve`: loopback by default, a non-loopback host only with --allow-remote, the token printed once."""

import uvicorn
from typer.testing import CliRunner

from hvla.orchestration.cli import app


def _serve(monkeypatch, *args: str, env: dict[str, str] | None = None):
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: started.append({"app": application, **kw}))
    result = CliRunner().invoke(app, ["serve", *args], env=env)
    return result, started


def test_serve_refuses_a_non_loopback_host_without_allow_remote(monkeypatch):
    monkeypatch.delenv("HVLA_CONSOLE_TOKEN", raising=False)
    result, started = _serve(monkeypatch, "--host", "0.0.0.0")
    assert result.exit_code == 2 and not started
    assert "not a loopback address" in result.output and "--allow-remote" in result.output


def test_serve_on_a_remote_host_warns_and_prints_the_token_once(monkeypatch):
    monkeypatch.delenv("HVLA_CONSOLE_TOKEN", raising=False)
    result, started = _serve(monkeypatch, "--host", "0.0.0.0", "--allow-remote", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and started[0]["host"] == "0.0.0.0" and started[0]["port"] == 8123
    token = started[0]["app"].state.token
    assert result.output.count(token) == 1 and f":8123/?token={token}" in result.output


def test_serve_on_loopback_takes_the_token_from_the_environment(monkeypatch):
    result, started = _serve(monkeypatch, env={"HVLA_CONSOLE_TOKEN": "s3cret-token"})
    assert result.exit_code == 0, result.output
    assert started[0]["host"] == "127.0.0.1" and started[0]["app"].state.token == "s3cret-token"
    assert "s3cret-token" not in result.output and "HVLA_CONSOLE_TOKEN" in result.output
    assert "warning" not in result.output
