"""The command line around the API: ``token``, ``export-schema``, ``serve --demo``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from analytics_graph.auth import Caller, Role, verify_token
from tests.cli import cli_environment, run_cli
from tests.conftest import scratch_database
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cli-test-secret-of-at-least-32-bytes!"
ACCOUNT = "5f0e7a52-7d51-4a52-9c51-3d2b7a1e0c11"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``analytics-graph ARGS``; ``env`` replaces the default ``ANALYTICS_GRAPH_*``."""
    return run_cli(env if env is not None else {"ANALYTICS_GRAPH_SECRET": SECRET}, *args)


def test_token_prints_the_token_alone() -> None:
    done = cli("token", "--role", "creator", "--account", ACCOUNT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert verify_token(SECRET, lines[0]) == Caller(Role.CREATOR, UUID(ACCOUNT))


def test_token_needs_an_account_for_creators_only() -> None:
    refused = cli("token", "--role", "creator")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "--account" in refused.stderr
    auditor = cli("token", "--role", "auditor")
    assert auditor.returncode == 0
    assert verify_token(SECRET, auditor.stdout.strip()) == Caller(Role.AUDITOR)


def test_token_generates_a_secret_into_the_data_folder(tmp_path: Path) -> None:
    env = {"ANALYTICS_GRAPH_DATA_DIR": str(tmp_path)}
    done = cli("token", "--role", "admin", env=env)
    assert done.returncode == 0, done.stderr
    secret = (tmp_path / "secret").read_text().strip()
    assert verify_token(secret, done.stdout.strip()) == Caller(Role.ADMIN)


def test_export_schema_prints_schema_graphql() -> None:
    done = cli("export-schema")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "schema.graphql").read_text()


@pytest.mark.slow
async def test_serve_demo_loads_real_numbers_and_prints_a_token(
    server_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with scratch_database(server_url) as url:
        env = cli_environment(
            {"ANALYTICS_GRAPH_DATABASE_URL": url, "ANALYTICS_GRAPH_DATA_DIR": str(tmp_path)}
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "analytics_graph", "serve", "--demo", "--port", str(port),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            printed = await asyncio.wait_for(_welcome(proc), 300)
            token = printed[printed.index("Bearer token:") + 1]
            assert any(
                line.startswith(f"http://127.0.0.1:{port}/graphql?headers=") for line in printed
            )
            assert f"http://127.0.0.1:{port}/#token={token}" in printed  # the dashboard
            me = await _dashboard(port, token)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 60)
    assert me["isPro"] is True
    assert me["followerCount"] >= 100
    overview = me["analytics"]["overview"]["videoViews"]
    assert overview["total"] > 0
    assert len(overview["daily"]) == 28
    assert me["analytics"]["followers"]["gender"]


async def _welcome(proc: asyncio.subprocess.Process) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while not any("/graphql" in line for line in lines):
        line = await proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited: {lines}")
        lines.append(line.decode().strip())
    return lines


async def _dashboard(port: int, token: str) -> dict[str, Any]:
    query = """{ me { isPro followerCount analytics(range: {preset: LAST_28_DAYS}) {
      overview { videoViews { total daily { value } } } followers { gender { key } } } } }"""
    async with httpx.AsyncClient() as client:
        # the welcome is printed during startup, a moment before uvicorn listens
        for _ in range(300):
            try:
                response = await client.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": query},
                    headers={"authorization": f"Bearer {token}"},
                )
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("serve --demo never started listening")
    body = response.json()
    assert "errors" not in body, body
    me: dict[str, Any] = body["data"]["me"]
    return me
