"""The routes. Only this package imports the web framework.

    POST /v1/rerank     one `shieldrec rerank` request in, its result out
    POST /rank          the Prosocial Ranking Challenge ranker contract
    POST /v1/feedback   like / dislike / not_now / block, as the app's keys
    GET  /v1/health     model status, profile, version (the one route without the token)
    GET  /openapi.json  this API's schema
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import ValidationError
from ranking_challenge.request import RankingRequest

from shieldrec.batch import loads
from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.serve import prc, schemas
from shieldrec.serve.guard import PROBLEM, Guard, problem_body
from shieldrec.serve.service import NoProfile, Service, TooLarge, Unavailable

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
_ERRORS: list[tuple[type[Exception], int, str]] = [
    (TooLarge, 413, "Content Too Large"),
    (NoProfile, 409, "No profile"),
    (Unavailable, 503, "Service Unavailable"),
    (InvalidInput, 422, "Invalid request"),
    (ShieldRecError, 422, "Invalid request"),
]
DESCRIPTION = """ShieldRec's ranking on your own machine, for your own programs.

Every route but `/v1/health` needs `Authorization: Bearer <token>` (`shieldrec serve token` prints it).
The service answers only on the loopback interface, only to its own `Host`, and to no web page
unless its origin is allowed in `config.toml` (`[serve] allowed_origins`). Errors are RFC 9457
problem details (`application/problem+json`)."""


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    return Response(problem_body(status, title, detail, **extra), status_code=status, media_type=PROBLEM.decode())


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _doc(model: type, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    ref = {"$ref": "#/components/schemas/ProblemDoc"}
    return {s: {"description": "problem details", "content": {"application/problem+json": {"schema": ref}}}
            for s in statuses}


def _body(model: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def create_app(service: Service, *, token: str, port: int) -> Guard:
    """The service's ASGI application, behind its guard."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()

        async def flush_calls() -> None:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    await service.run(service.calls.flush)
                except ShieldRecError as exc:  # the next flush tries again with these rows
                    log.warning("the call log could not be written: %s", exc)

        flusher = asyncio.create_task(flush_calls())
        try:
            yield
        finally:
            flusher.cancel()
            await asyncio.to_thread(service.close)

    app = FastAPI(title="ShieldRec", version=service.version, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")

    @app.exception_handler(ShieldRecError)
    async def known_error(request: Request, exc: ShieldRecError) -> Response:
        for kind, status, title in _ERRORS:
            if isinstance(exc, kind):
                return problem(status, title, str(exc))
        return problem(422, "Invalid request", str(exc))  # pragma: no cover - ShieldRecError is listed

    @app.exception_handler(RequestValidationError)
    async def invalid_parameters(request: Request, exc: RequestValidationError) -> Response:
        return problem(422, "Invalid request", "; ".join(_where(e) for e in exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return problem(500, "Internal Server Error", "the request failed inside ShieldRec; nothing was changed "
                       "by its ranking, and the service goes on")

    async def body_of(request: Request) -> Any:
        return loads(await request.body())

    @app.post("/v1/rerank", responses={200: _doc(schemas.RerankResultDoc, "The ranking"), **_problems(413, 422, 503)},
              openapi_extra=_body(schemas.RerankRequestDoc),
              summary="Re-rank one request of the `shieldrec rerank` contract")
    async def rerank(request: Request, top: int | None = Query(None, ge=1, description="Keep N items.")) -> Response:
        raw = await body_of(request)
        if isinstance(raw, dict) and isinstance(raw.get("candidates"), list):
            request.state.items = len(raw["candidates"])
        return _json(await service.run(service.rerank, raw, top))

    @app.post("/rank", responses={200: _doc(prc.ShieldedRankingResponse, "ranked_ids, and what was removed"),
                                  **_problems(413, 422, 503)},
              openapi_extra=_body(RankingRequest), summary="The Prosocial Ranking Challenge ranker contract")
    async def rank(request: Request) -> Response:
        raw = await body_of(request)
        service.check_counts(raw)
        try:
            parsed = RankingRequest.model_validate(raw)
        except ValidationError as exc:
            return problem(422, "Invalid request", "; ".join(_where(e) for e in exc.errors()))
        request.state.items = len(parsed.items)
        candidates = prc.to_request(parsed)
        result = await service.run(service.rank, candidates)
        return Response(prc.to_response(result).model_dump_json(exclude_none=True), media_type="application/json")

    @app.post("/v1/feedback", responses={200: _doc(schemas.FeedbackResultDoc, "What was written"),
                                         **_problems(409, 413, 422)},
              openapi_extra=_body(schemas.FeedbackDoc), summary="Like, dislike, not now, block: as the app's keys")
    async def feedback(request: Request) -> Response:
        raw = await body_of(request)
        request.state.items = 1
        return _json(await service.run(service.feedback, raw))

    @app.get("/v1/health", responses={200: _doc(schemas.HealthDoc, "Service status")},
             summary="Model status, profile, version (no token needed)")
    async def health() -> Response:
        return _json(service.health())

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (schemas.RerankRequestDoc, schemas.RerankResultDoc, schemas.FeedbackDoc,
                          schemas.FeedbackResultDoc, schemas.HealthDoc, schemas.ProblemDoc, RankingRequest,
                          prc.ShieldedRankingResponse):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    settings = service.settings.serve
    return Guard(app, token=token, port=port, allowed_origins=settings.allowed_origins,
                 max_body=settings.max_body_bytes, calls=service.calls)


def _where(error: Any) -> str:
    """A validation error as 'where: what', without echoing the input back."""
    place = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    return f"{place}: {error.get('msg', 'invalid')}" if place else str(error.get("msg", "invalid"))
