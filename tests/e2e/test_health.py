"""The service's health endpoint, through a real HTTP server."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli import cli_environment
from tests.e2e.conftest import free_port


async def test_healthz_reports_the_database(service: str) -> None:
    async with httpx.AsyncClient(base_url=service) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["position"] == 0


@pytest.mark.slow
async def test_serve_runs_on_the_embedded_database(tmp_path: Path) -> None:
    """`analytics-graph serve` with no DSN starts its own PostgreSQL in the data folder."""
    port = free_port()
    env = cli_environment({"ANALYTICS_GRAPH_DATA_DIR": str(tmp_path / "data")})
    # The log goes to a file: a pipe nobody reads while waiting could fill and block it.
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "analytics_graph", "serve", "--port", str(port),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        body = await wait_for_health(f"http://127.0.0.1:{port}/healthz", proc, log)
        assert body["status"] == "ok"
        assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            raise AssertionError("serve did not stop: " + log.read_text()[-4000:]) from None
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-4000:]
    # and the embedded server was stopped with it
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()


async def wait_for_health(
    url: str, proc: asyncio.subprocess.Process, log: Path
) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise AssertionError(log.read_text())  # noqa: ASYNC240 - a failure report
            try:
                response = await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            result: dict[str, object] = response.json()
            return result
    raise AssertionError("the service did not become healthy within a minute")
