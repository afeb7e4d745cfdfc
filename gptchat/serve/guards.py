"""What stands before every request: the API key, where one is set, and the body's size."""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000  # a question and its conversation; far below any document
MAX_DRAINED_BYTES = 64_000_000  # a body over the limit is read this far, then cut off
_INVALID = "invalid_request_error"


def error_body(message: str, kind: str, code: str | None = None) -> dict:
    """An error as OpenAI's API words it, so its clients raise it with the message."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class RequestGuard:
    """ASGI middleware: a 401 without the key, a 413 for a body over MAX_BODY_BYTES."""

    def __init__(self, app: ASGIApp, api_key: str | None, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.api_key = api_key
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        if self.api_key is not None and not self._has_key(headers.get(b"authorization", b"")):
            message = "a valid API key is required: send it as 'Authorization: Bearer KEY'"
            await _reply(send, 401, error_body(message, "authentication_error", "invalid_api_key"))
            return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit():
            await _reply(send, 400, error_body("the Content-Length is not a number", _INVALID))
            return
        # Read whole (it is small) to hold a body sent in chunks to the same limit. One too
        # large is read to its end (up to MAX_DRAINED_BYTES) and dropped: a client still
        # sending when the reply comes would see a broken connection, not the 413.
        body, received, more = b"", 0, int(declared) <= MAX_DRAINED_BYTES
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            more = message.get("more_body", False) and received <= MAX_DRAINED_BYTES
            if received <= self.max_body:
                body += chunk
        if max(received, int(declared)) > self.max_body:
            limit = f"{self.max_body:,} bytes"
            await _reply(send, 413, error_body(f"the request body is over {limit}", _INVALID))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect a stream listens for

        await self.app(scope, replay, send)

    def _has_key(self, authorization: bytes) -> bool:
        scheme, _, given = authorization.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.api_key.encode()
        )


async def _reply(send: Send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
