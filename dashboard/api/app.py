"""The data API (Starlette): the IB history cache's status and ranges, and this process's IB session.

Routes (JSON; every error is ``{"error": "..."}`` with what to do instead):

* ``GET /data/status``: :func:`sdk.data.status.data_status` of the cache (:class:`DataStatusOut`).
* ``GET /data/ranges/{symbol}``: :func:`sdk.data.status.ranges` (:class:`RangesOut`). ``symbol`` is the cache's
  folder form ``SPY-USD`` or the canonical ``SPY/USD`` percent-encoded (``SPY%2FUSD``); an unencoded
  ``/data/ranges/SPY/USD`` works too. 404 when the cache holds nothing of it (the message lists what it holds),
  400 for a malformed symbol.
* ``GET /data/ib/status``: this process's IB session (:class:`IbStatusOut`), without connecting.
* ``POST /data/ib/test``: connects (once, lazily) and answers IB's ``reqCurrentTime`` (:class:`IbTestOut`); 503
  with the same body when IB cannot be reached.
* ``GET /openapi.json``: the OpenAPI 3.1 description, its schemas generated from the pydantic models.

The FastAPI of the brief is not installed; Starlette (a dependency of ``mcp``) and uvicorn are.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dashboard.api.ib import IbSession, TraderFactory
from dashboard.api.models import DataStatusOut, ErrorOut, IbStatusOut, IbTestOut, RangesOut

if TYPE_CHECKING:
    from sdk.settings import Settings

__all__ = ["build_app", "openapi_schema"]

_REF = "#/components/schemas/{model}"


def _json(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def _error(message: str, status: int) -> JSONResponse:
    return _json(ErrorOut(error=message), status)


def _response(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes above."""
    models: list[type[BaseModel]] = [DataStatusOut, RangesOut, IbStatusOut, IbTestOut, ErrorOut]
    _, defs = models_json_schema([(m, "serialization") for m in models], ref_template=_REF)
    error = _response(ErrorOut, "error: what was wrong and what to do instead")
    symbol = {
        "name": "symbol", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "SPY-USD, or SPY/USD percent-encoded as SPY%2FUSD", "example": "SPY-USD",
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "trader-sdk data API", "version": "1", "description": (__doc__ or "").split("\n\n")[0]},
        "paths": {
            "/data/status": {
                "get": {
                    "operationId": "getDataStatus",
                    "summary": "The IB history cache's contents and downloads",
                    "responses": {"200": _response(DataStatusOut, "status"), "500": error},
                }
            },
            "/data/ranges/{symbol}": {
                "get": {
                    "operationId": "getDataRanges",
                    "summary": "Covered ranges and gaps of one symbol",
                    "parameters": [symbol],
                    "responses": {"200": _response(RangesOut, "ranges"), "400": error, "404": error},
                }
            },
            "/data/ib/status": {
                "get": {
                    "operationId": "getIbStatus",
                    "summary": "This process's IB session",
                    "responses": {"200": _response(IbStatusOut, "session")},
                }
            },
            "/data/ib/test": {
                "post": {
                    "operationId": "testIb",
                    "summary": "Connect and ask IB's current time",
                    "responses": {
                        "200": _response(IbTestOut, "IB answered"),
                        "503": _response(IbTestOut, "IB could not be reached"),
                    },
                }
            },
        },
        "components": {"schemas": defs.get("$defs", {})},
    }


def build_app(
    settings: Settings, *, cache_dir: Path | None = None, trader_factory: TraderFactory | None = None
) -> Starlette:
    """The ASGI app over ``cache_dir`` (default ``settings.data_cache_dir``) and a lazy IB session from
    ``trader_factory`` (default: the registry's IB venue, ``create_trader("IB", settings, raw=True)``)."""
    from sdk.data.status import SymbolNotInCache, data_status, ranges

    cache = cache_dir if cache_dir is not None else settings.data_cache_dir
    ib = IbSession(settings, trader_factory)
    schema = openapi_schema()

    async def get_status(request: Request) -> JSONResponse:
        try:
            return _json(DataStatusOut.model_validate(data_status(cache)))
        except NotADirectoryError as exc:
            return _error(str(exc), 500)

    async def get_ranges(request: Request) -> JSONResponse:
        symbol = str(request.path_params["symbol"])
        try:
            return _json(RangesOut.model_validate(ranges(cache, symbol)))
        except SymbolNotInCache as exc:
            return _error(str(exc), 404)
        except ValueError as exc:
            return _error(str(exc), 400)

    async def get_ib_status(request: Request) -> JSONResponse:
        return _json(ib.status())

    async def post_ib_test(request: Request) -> JSONResponse:
        answer = await ib.test()
        return _json(answer, 200 if answer.ok else 503)

    async def get_openapi(request: Request) -> JSONResponse:
        return JSONResponse(schema)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await ib.close()

    app = Starlette(
        routes=[
            Route("/data/status", get_status, methods=["GET"]),
            Route("/data/ranges/{symbol:path}", get_ranges, methods=["GET"]),
            Route("/data/ib/status", get_ib_status, methods=["GET"]),
            Route("/data/ib/test", post_ib_test, methods=["POST"]),
            Route("/openapi.json", get_openapi, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.ib = ib
    app.state.cache_dir = cache
    return app
