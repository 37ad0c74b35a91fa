"""A throwaway PostgreSQL primary with hot standbys, for replication tests and benchmarks.

Built with the server binaries on the machine (``initdb``, ``pg_ctl``,
``pg_basebackup -R``) in a temporary folder, on free ports; never touches the
shared server. Run as root, the binaries run as the ``postgres`` user (initdb
refuses root)::

    async with throwaway_cluster(standbys=2) as cluster:
        cluster.primary_url, cluster.standby_urls
        await cluster.pause_replay(0); ...; await cluster.resume_replay(0)
        cluster.stop_standby(0); cluster.start_standby(0)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

BIN = Path(os.environ.get("ANALYTICS_GRAPH_PG_BIN", "/usr/lib/postgresql/15/bin"))
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def available() -> bool:
    """Whether the PostgreSQL server binaries are here."""
    return all((BIN / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(*command: str) -> None:
    subprocess.run(_as_owner(list(command)), check=True, capture_output=True, timeout=120)


@dataclass
class Server:
    data: Path
    port: int
    log: Path
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        where = ["-p", str(self.port), "-k", str(self.data.parent)]
        opts = " ".join([*where, "-c", "listen_addresses=127.0.0.1", *self.options])
        _run(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w",
             "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        _run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@dataclass
class Cluster:
    """A running primary and its standbys (streaming, hot standby)."""

    folder: Path
    primary: Server
    standbys: list[Server] = field(default_factory=list)

    @property
    def primary_url(self) -> str:
        return self.primary.url

    @property
    def standby_urls(self) -> list[str]:
        return [s.url for s in self.standbys]

    def add_standby(self) -> Server:
        index = len(self.standbys)
        data = self.folder / f"standby{index}"
        _run(str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port),
             "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        log = self.folder / f"standby{index}.log"
        server = Server(data, free_port(), log, self.primary.options)
        server.start()
        self.standbys.append(server)
        return server

    def stop_standby(self, index: int) -> None:
        """Stops a standby at once (as a crash would: connections drop)."""
        self.standbys[index].stop("immediate")

    def start_standby(self, index: int) -> None:
        self.standbys[index].start()

    async def _standby_sql(self, index: int, sql: str) -> object:
        conn = await asyncpg.connect(self.standbys[index].url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def pause_replay(self, index: int) -> None:
        """Stops the standby applying WAL (it keeps receiving it): a lagging replica."""
        await self._standby_sql(index, "SELECT pg_wal_replay_pause()")
        state = "SELECT pg_get_wal_replay_pause_state()"
        while await self._standby_sql(index, state) != "paused":  # noqa: ASYNC110 - server state
            await asyncio.sleep(0.01)

    async def resume_replay(self, index: int) -> None:
        await self._standby_sql(index, "SELECT pg_wal_replay_resume()")

    async def caught_up(self, index: int, within: float = 30.0) -> None:
        """Waits until standby ``index`` has replayed everything the primary wrote so far."""
        conn = await asyncpg.connect(self.primary_url)
        try:
            target = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        finally:
            await conn.close()
        async with asyncio.timeout(within):
            while True:
                replayed = await self._standby_sql(
                    index, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
                )
                if replayed:
                    return
                await asyncio.sleep(0.01)


def _make_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="analytics-graph-cluster-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


def start_cluster(standbys: int = 1, options: Sequence[str] = FAST) -> Cluster:
    """Initialises and starts a primary and ``standbys`` standbys (blocking)."""
    folder = _make_folder()
    primary = Server(folder / "primary", free_port(), folder / "primary.log", tuple(options))
    _run(str(BIN / "initdb"), "-D", str(primary.data), "-A", "trust", "-U", "postgres",
         "--no-sync", "--no-instructions")  # fmt: skip
    cluster = Cluster(folder, primary)
    try:
        primary.start()
        for _ in range(standbys):
            cluster.add_standby()
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for server in [*cluster.standbys, cluster.primary]:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop("immediate")
    shutil.rmtree(cluster.folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def throwaway_cluster(
    standbys: int = 1, options: Sequence[str] = FAST
) -> AsyncIterator[Cluster]:
    """A started cluster for the block; stopped and deleted afterwards."""
    cluster = await asyncio.to_thread(start_cluster, standbys, options)
    try:
        yield cluster
    finally:
        await asyncio.to_thread(stop_cluster, cluster)
