"""``GET /export/accounts/{id}.csv|.xlsx`` and ``GET /export/videos/{id}.csv|.xlsx``.

Who may export what is who may read what in GraphQL: a bearer token
(``Authorization: Bearer ...``) of a creator exports their own account and its
videos, auditors and admins any; or a link token (``?token=``, from
``exportLink``) exports the one file it names. An id the caller may not see
answers exactly like an id that does not exist (404). Failures answer JSON in
GraphQL's error shape, ``{"errors": [{"message", "extensions": {"code", ...}}]}``,
naming the parameter and the reason where one is at fault:

* 401 ``UNAUTHENTICATED``: no token, or a bad or expired one;
* 400 ``BAD_USER_INPUT`` (``extensions.parameter``): an unknown, repeated,
  missing or out-of-range parameter;
* 403 ``FORBIDDEN``: a role that reads nothing, or a link token used for another
  export of the same id; 403 ``NOT_PRO_ACCOUNT``: analytics of a personal account;
* 404 ``NOT_FOUND``: no such account or video (or not the caller's), or no such format.

Answers stream: CSV is produced while it is sent; XLSX is written to a temporary
file (constant memory, in a worker thread), then sent from it (its name is removed
at once: nothing is left behind, whatever becomes of the download).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from analytics_graph.api import access
from analytics_graph.api.errors import ClientError
from analytics_graph.api.http.positions import (
    MIN_POSITION_HEADER,
    READ_HEADER,
    min_position,
    not_reached,
)
from analytics_graph.api.http.protocol import RequestError
from analytics_graph.auth import Caller, InvalidTokenError
from analytics_graph.export import csvfile, xlsxfile
from analytics_graph.export.files import Numbers, file_name, tables_of
from analytics_graph.export.links import path_of, verify_link_token
from analytics_graph.export.reading import account_numbers, owner, read_state, video_numbers
from analytics_graph.export.request import BadParameter, ExportRequest, Format, Kind, parse
from analytics_graph.export.service import Exports, exports_of
from analytics_graph.replication import PositionNotReached
from analytics_graph.types import Connection

CHUNK_BYTES = 64 * 1024
NO_STORE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Refusal(Exception):
    """An export refused: its HTTP status and GraphQL-shaped error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extensions = status, code, message, extensions
        self.headers = headers or {}

    @classmethod
    def of(cls, error: RequestError) -> Refusal:
        """The same refusal as a GraphQL request gets (a bad or unmet minimum position)."""
        return cls(error.status, error.code, error.message, error.headers)

    def response(self) -> Response:
        error = {"message": self.message, "extensions": {"code": self.code, **self.extensions}}
        headers = {**NO_STORE, **self.headers}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return Response(orjson.dumps({"errors": [error]}), self.status, headers, "application/json")


def export_routes() -> list[BaseRoute]:
    """The export routes (they find the running system in ``app.state.system``)."""
    return [
        Route(
            f"/export/{kind.value}/{{id}}.{{format}}", partial(_export, kind=kind), methods=["GET"]
        )
        for kind in Kind
    ]


async def _export(request: Request, kind: Kind) -> Response:
    try:
        return await _serve(request, kind, exports_of(request.app))
    except Refusal as refusal:
        return refusal.response()


async def _serve(request: Request, kind: Kind, exports: Exports) -> Response:
    link, caller = _credentials(request, exports)
    wanted = _wanted(request, kind)
    if link is not None and link != wanted:
        if link.kind is not wanted.kind or link.id != wanted.id:
            raise _not_found(wanted)
        raise Refusal(403, "FORBIDDEN", "the link's token allows another export: " + _path(link))
    if caller is not None:
        try:
            caller = access.reader(caller)
        except ClientError as error:
            raise Refusal(403, error.code, error.message) from None

    async def numbers(conn: Connection) -> Numbers:
        account = await owner(conn, wanted)
        if account is None or (caller is not None and not access.sees_account(caller, account.id)):
            raise _not_found(wanted)
        if not account.is_pro:
            raise Refusal(
                403, "NOT_PRO_ACCOUNT",
                f"analytics are available to Pro accounts only: account {account.id} is a"
                " personal account (switch it with switchToProAccount)",
                accountId=str(account.id),
            )  # fmt: skip
        if wanted.kind is Kind.ACCOUNT:
            assert wanted.days is not None
            return await account_numbers(conn, account, wanted.days, wanted.section)
        return await video_numbers(conn, account, wanted.id, wanted.days)

    try:
        position = min_position(request.headers.get(MIN_POSITION_HEADER))
        requirement = exports.reads.everything_at(position)
        found, source = await read_state(exports.reads, requirement, numbers)
    except RequestError as error:
        raise Refusal.of(error) from None
    except PositionNotReached as error:
        raise Refusal.of(not_reached(error)) from None
    response = await _file(wanted, found)
    response.headers[READ_HEADER] = source.name
    return response


def _credentials(request: Request, exports: Exports) -> tuple[ExportRequest | None, Caller | None]:
    """The export a link token allows, or the caller of a bearer token; 401 otherwise."""
    link_token = request.query_params.get("token")
    try:
        if link_token is not None:
            return verify_link_token(exports.secret, link_token), None
        authorization = request.headers.get("authorization")
        if not authorization:
            raise Refusal(
                401, "UNAUTHENTICATED",
                "authentication required: send 'Authorization: Bearer <token>', or use a link"
                " from exportLink",
            )  # fmt: skip
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal(
                401, "UNAUTHENTICATED", "send the token as 'Authorization: Bearer <token>'"
            )
        return None, exports.tokens.verify(token.strip())
    except InvalidTokenError as error:
        raise Refusal(401, "UNAUTHENTICATED", str(error)) from None


def _wanted(request: Request, kind: Kind) -> ExportRequest:
    """The export the URL names; 404 for an unknown format or id, 400 for bad parameters."""
    raw_id, raw_format = request.path_params["id"], request.path_params["format"]
    try:
        format = Format(raw_format)
    except ValueError:
        raise Refusal(
            404, "NOT_FOUND", f"no export as .{raw_format}: ask for .csv or .xlsx"
        ) from None
    try:
        id = UUID(raw_id)
    except ValueError:
        raise Refusal(404, "NOT_FOUND", _missing(kind, raw_id)) from None
    today = datetime.now(UTC).date()
    try:
        return parse(kind, id, format, request.query_params.multi_items(), today)
    except BadParameter as error:
        raise Refusal(400, "BAD_USER_INPUT", str(error), parameter=error.parameter) from None


def _missing(kind: Kind, id: object) -> str:
    return f"no {'account' if kind is Kind.ACCOUNT else 'video'} with id {id}"


def _not_found(wanted: ExportRequest) -> Refusal:
    return Refusal(404, "NOT_FOUND", _missing(wanted.kind, wanted.id))


def _path(request: ExportRequest) -> str:
    query = "&".join(f"{k}={v}" for k, v in request.query().items())
    return path_of(request) + (f"?{query}" if query else "")


# ---------------------------------------------------------------- the file


async def _file(wanted: ExportRequest, numbers: Numbers) -> Response:
    name = file_name(wanted, numbers)
    headers = NO_STORE | {"Content-Disposition": f'attachment; filename="{name}"'}
    tables = tables_of(wanted, numbers)
    if wanted.format is Format.CSV:
        (table,) = tables
        return StreamingResponse(
            _chunks(csvfile.csv_chunks(table)), 200, headers, csvfile.MEDIA_TYPE
        )
    folder = Path(tempfile.mkdtemp(prefix="analytics-graph-export-"))
    try:
        path = folder / name
        await asyncio.to_thread(xlsxfile.write_workbook, tables, path, title=name)
        file = path.open("rb")  # still readable once its folder is gone
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    headers["Content-Length"] = str(os.fstat(file.fileno()).st_size)
    return StreamingResponse(_read(file), 200, headers, xlsxfile.MEDIA_TYPE)


async def _read(file: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


async def _chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each chunk in turn, letting other requests run between two (a chunk is ~64 kB
    of rows: well under a millisecond to make)."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)
