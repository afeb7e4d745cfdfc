"""`gptchat serve`'s HTTP API: OpenAI-compatible chat completions, models, search, feedback."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from gptchat.answer.session import Answer
from gptchat.errors import BadInput, GptchatError
from gptchat.render.answers import answer_json, closing_lines, passages_json, sources_lines
from gptchat.serve.guards import RequestGuard, error_body
from gptchat.serve.requests import ChatRequest, FeedbackRequest, SearchRequest
from gptchat.serve.service import DocumentService, check_question

ANY_MODEL = "gptchat"  # names whichever model this server runs
log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API refuses, with its HTTP status and OpenAI's error type."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.kind = status, kind


def create_app(service: DocumentService, api_key: str | None = None) -> FastAPI:
    """The API over `service`; with `api_key`, every request must carry it."""
    app = FastAPI(title="gptchat", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(RequestGuard, api_key=api_key)
    _add_error_handlers(app)

    @app.get("/v1/models")
    async def models() -> dict:
        entries = [
            {
                "id": entry.id,
                "object": "model",
                "created": 0,
                "owned_by": "gptchat",
                "name": entry.name,
                "served": entry.served,
            }
            for entry in service.models()
        ]
        return {"object": "list", "data": entries}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: ChatRequest) -> dict | StreamingResponse:
        _check_model(service, request.model)
        question = request.question  # a ValueError (not the user's turn) is a 400
        if request.conversation_id is not None:
            await service.check_conversation(request.conversation_id)
        reply = _Reply(service.model_name)
        if request.stream:
            check_question(question)  # now: after the first byte a refusal is only an event
            events = _stream_events(service, question, request.conversation_id, reply)
            return StreamingResponse(events, media_type="text/event-stream")
        answer = await service.answer(question, request.conversation_id)
        return reply.completion(answer)

    @app.post("/v1/search")
    async def search(request: SearchRequest) -> dict:
        retrieval = await service.search(request.query, request.k)
        return {
            "object": "list",
            "query": request.query,
            "relevant": retrieval.relevant,
            "milliseconds": round(retrieval.milliseconds, 1),
            "data": passages_json(retrieval.hits),
        }

    @app.post("/v1/feedback")
    async def feedback(request: FeedbackRequest) -> dict:
        if request.rating is None and request.correction is None and request.comment is None:
            raise ApiError(400, "give a rating (1 or -1), a correction or a comment")
        stored = await service.feedback(
            request.message_id, request.rating, request.correction, request.comment
        )
        return asdict(stored)

    return app


class _Reply:
    """The OpenAI-shaped objects for one completion: one id, one creation time."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def completion(self, answer: Answer) -> dict:
        """The whole answer: its checked text and the numbered sources, as `ask` prints."""
        listed = sources_lines(answer)
        content = answer.text + ("\n\n" + "\n".join(listed) if listed else "")
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": _finish_reason(answer),
                }
            ],
            "usage": _usage(answer),
            **_extra(answer),
        }

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra: object) -> str:
        """One server-sent event of a streamed completion."""
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def _stream_events(
    service: DocumentService, question: str, conversation_id: int | None, reply: _Reply
) -> AsyncIterator[str]:
    """The answer as server-sent events: its pieces as they are decoded, then the checked
    text and the sources, then gptchat's fields with the finish reason. A client that goes
    away stops the model: the answer is logged as interrupted."""
    try:
        async with service.answering(question, conversation_id) as live:
            yield reply.chunk({"role": "assistant", "content": ""})
            async for piece in live.pieces():
                yield reply.chunk({"content": piece})
        answer = live.answer
        closing = "\n".join(closing_lines(answer))
        if closing:
            yield reply.chunk({"content": "\n\n" + closing})
        yield reply.chunk({}, _finish_reason(answer), usage=_usage(answer), **_extra(answer))
    except GptchatError as exc:  # after the first byte an error can only be an event
        yield f"data: {json.dumps(error_body(str(exc), 'invalid_request_error'))}\n\n"
    yield "data: [DONE]\n\n"


def _check_model(service: DocumentService, model: str) -> None:
    """The request must name the model this server runs (or `gptchat`, meaning it)."""
    if model in (ANY_MODEL, service.served_id, service.model_name):
        return  # the usual case, settled without reading the versions
    known = service.models()
    served = next(entry for entry in known if entry.served)
    if any(model in (entry.id, entry.name) for entry in known):
        raise ApiError(
            400,
            f"this server answers with {served.id} ({served.name}); to answer with {model},"
            f" run `gptchat models use {model}` and start it again",
        )
    raise ApiError(404, f"no model named {model!r} (GET /v1/models lists them)")


def _finish_reason(answer: Answer) -> str:
    return "length" if answer.timings.get("stopped_by") == "length" else "stop"


def _usage(answer: Answer) -> dict:
    prompt = int(answer.timings.get("prompt_tokens", 0))
    completion = int(answer.timings.get("new_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _extra(answer: Answer) -> dict:
    """gptchat's own fields beside OpenAI's: where the answer is logged, and its sources."""
    document = answer_json(answer)
    return {
        key: document[key]
        for key in (
            "conversation_id",
            "message_id",
            "answer",
            "status",
            "given_back",
            "sources",
            "cited",
        )
    }


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal as OpenAI's JSON error, with a 4xx status; a failure as a 500."""

    def refuse(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        return JSONResponse(error_body(message, kind), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        return refuse(400, "; ".join(problems) or "the request is not valid")

    @app.exception_handler(ApiError)
    async def refused(_: Request, exc: ApiError) -> JSONResponse:
        return refuse(exc.status, str(exc), exc.kind)

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput) -> JSONResponse:
        return refuse(400, str(exc))

    @app.exception_handler(LookupError)
    async def not_found(_: Request, exc: LookupError) -> JSONResponse:
        return refuse(404, str(exc.args[0] if exc.args else exc), "not_found_error")

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return refuse(400, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return refuse(exc.status_code, str(exc.detail))

    @app.exception_handler(GptchatError)
    async def failed(_: Request, exc: GptchatError) -> JSONResponse:
        log.warning("request failed: %s", exc)
        return refuse(500, str(exc), "server_error")


def _problem(error: dict) -> str:
    """One of pydantic's complaints about a request, as a clause: "messages: Field required"."""
    if error["type"] == "json_invalid":
        return f"the request body is not valid JSON ({error.get('ctx', {}).get('error', '')})"
    where = ".".join(str(part) for part in error["loc"] if part != "body")
    return f"{where or 'the request body'}: {error['msg']}"
