"""The files themselves: RFC 4180 quoting, typed XLSX cells with frozen headers, and the
command line writing what the HTTP export answers."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from analytics_graph.auth import Role
from analytics_graph.export.tables import CONTENT, OVERVIEW
from tests.cli import cli_environment
from tests.e2e.export_support import csv_rows, download, workbook
from tests.e2e.graphql_support import Served, serve, token

ADMIN = token(Role.ADMIN)
CAPTIONS = [
    "plain",
    "with, a comma",
    'a "quoted" word',
    "two\nlines",
    'all, of "them"\r\nat once',
    "=1+1 stays text",
    "ünïcødé ✓",
]
DAYS = "start=2026-03-01&end=2026-03-31"
REGISTER = """mutation R { registerAccount(input: {handle: "quoting_1", displayName: "Q"}) {
  ... on Account { id } } }"""
TO_PRO = """mutation P($id: ID!) { switchToProAccount(accountId: $id, type: CREATOR) {
  ... on Account { id } } }"""
PUBLISH = """mutation V($input: PublishVideoInput!) { publishVideo(input: $input) {
  ... on Video { id } } }"""


@pytest.fixture(scope="module")
async def served(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Served, str]]:
    """An account whose videos have awkward captions, published in March 2026."""
    async with serve(server_url, tmp_path_factory.mktemp("export-files")) as world:
        account = (await world.data(REGISTER, token=ADMIN))["registerAccount"]["id"]
        await world.data(TO_PRO, {"id": account}, token=ADMIN)
        for day, caption in enumerate(CAPTIONS, start=1):
            video = {
                "accountId": account,
                "caption": caption,
                "durationSeconds": 9.5,
                "publishedAt": f"2026-03-{day:02}T12:00:00+00:00",
            }
            await world.data(PUBLISH, {"input": video}, token=ADMIN)
        await world.caught_up()
        yield world, account


async def test_csv_quotes_commas_quotes_and_line_breaks(served: tuple[Served, str]) -> None:
    world, account = served
    response = await download(
        world, f"/export/accounts/{account}.csv?{DAYS}&section=content", ADMIN
    )
    header, *rows = csv_rows(response)
    assert header == [c.name for c in CONTENT]
    posted = [r[2] for r in rows if r[0] == "postedVideos"]
    assert posted == CAPTIONS[::-1]  # newest first, each caption exactly as published
    raw = response.content.decode()
    assert raw.startswith("field,id,caption,publishedAt,")
    assert raw.endswith("\r\n")
    assert ',"with, a comma",' in raw
    assert ',"a ""quoted"" word",' in raw
    assert ',"two\nlines",' in raw
    assert ',"all, of ""them""\r\nat once",' in raw
    assert ",plain,2026-03-01T12:00:00+00:00," in raw
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="quoting_1_content_2026-03-01_2026-03-31.csv"'


async def test_xlsx_cells_are_typed_with_a_frozen_header(served: tuple[Served, str]) -> None:
    world, account = served
    book = workbook(await download(world, f"/export/accounts/{account}.xlsx?{DAYS}", ADMIN))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
    overview, content = book["Overview"], book["Content"]
    for column, spec in zip("ABCDEFGH", OVERVIEW, strict=True):
        assert overview.column_dimensions[column].width == pytest.approx(spec.width, abs=1)
    first = overview[2]
    assert first[0].is_date and first[0].number_format == "yyyy-mm-dd"
    assert first[0].value.date().isoformat() == "2026-03-01"
    assert [c.data_type for c in first[1:]] == ["n"] * 7
    assert overview.max_row == 1 + 31
    posted = [row for row in content.iter_rows(min_row=2) if row[0].value == "postedVideos"]
    assert [_unescaped(row[2].value) for row in posted] == CAPTIONS[::-1]
    assert all(row[2].data_type == "s" for row in posted)  # '=1+1' is text, not a formula
    assert all(row[3].is_date and row[3].number_format == "yyyy-mm-dd hh:mm:ss" for row in posted)
    assert [row[4].value for row in posted] == [0] * len(CAPTIONS)


def _unescaped(text: str) -> str:
    """An XLSX string as Excel reads it: OOXML writes a control character such as CR as
    ``_x000D_``, which openpyxl leaves as it is in inline strings."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), text)


async def _run(*args: str, url: str) -> tuple[int | None, bytes, str]:
    """``analytics-graph export ARGS`` on the database ``url``: status, output, errors."""
    environment = cli_environment({"ANALYTICS_GRAPH_DATABASE_URL": url})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "analytics_graph",
        "export",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out, err.decode()


@pytest.mark.slow
async def test_the_command_line_writes_what_http_answers(
    served: tuple[Served, str], tmp_path: Path
) -> None:
    world, account = served
    start, end = "--start", "2026-03-01"
    target = tmp_path / "content.csv"
    code, _, err = await _run(
        "account",
        account,
        start,
        end,
        "--end",
        "2026-03-31",
        "--section",
        "content",
        "-o",
        str(target),
        url=world.database_url,
    )
    assert code == 0, err
    over_http = await download(
        world, f"/export/accounts/{account}.csv?{DAYS}&section=content", ADMIN
    )
    assert target.read_bytes() == over_http.content

    code, out, err = await _run(
        "account", account, start, end, "--end", "2026-03-31", "-o", "-", url=world.database_url
    )
    assert code == 0, err
    overview = await download(world, f"/export/accounts/{account}.csv?{DAYS}", ADMIN)
    assert out == overview.content

    book_path = tmp_path / "book.xlsx"
    code, _, err = await _run(
        "account",
        account,
        start,
        end,
        "--end",
        "2026-03-31",
        "--format",
        "xlsx",
        "-o",
        str(book_path),
        url=world.database_url,
    )
    assert code == 0, err
    assert openpyxl.load_workbook(book_path).sheetnames == ["Overview", "Content", "Followers"]


async def test_the_command_line_refuses_bad_input(served: tuple[Served, str]) -> None:
    world, account = served
    code, _, err = await _run(
        "account", account, "--start", "2026-03-31", "--end", "2026-03-01", url=world.database_url
    )
    assert code == 2
    assert "--end" in err and "on or before end" in err
    code, _, err = await _run(
        "video", "00000000-0000-4000-8000-000000000000", url=world.database_url
    )
    assert code == 1
    assert "no video with id 00000000-0000-4000-8000-000000000000" in err
