"""The one module that reaches into aiohttp's undocumented internals (checked on aiohttp 3.14.5).

aiohttp answers a request its parser cannot read (bad request line, a header line past
`max_field_size`) with a plain-text 400 from `RequestHandler.handle_error`, before any route or
middleware runs, and offers no hook for it. `RefusalAnsweringRunner` serves an app with a request
handler whose `handle_error` asks `answer` instead. Reaching it takes three internals: the
runner's `_make_server`, the server's `_loop` and `_kwargs` (to build the handler as `Server` does),
and a `__class__` swap of the server the runner made (so its other settings stay aiohttp's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bridge.core.versions import require

require("aiohttp", aiohttp.__version__, ("3.14.5",), __name__)

# (request, status, exception) -> the answer; called only while nothing of an answer is out.
AnswerRefusal = Callable[[web.BaseRequest, int, BaseException | None], web.StreamResponse]


class RefusalAnsweringRunner(web.AppRunner):
    """A `web.AppRunner` whose connections answer unparsable requests with `answer`."""

    def __init__(self, app: web.Application, *, answer: AnswerRefusal, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._answer = answer

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the same server; only the request handler it builds differs
        server.answer = self._answer  # type: ignore[attr-defined]
        return server


class _Server(web.Server):
    answer: AnswerRefusal

    def __call__(self) -> RequestHandler:
        handler = _RequestHandler(self, loop=self._loop, **self._kwargs)
        handler.answer = self.answer
        return handler


class _RequestHandler(RequestHandler):
    __slots__ = ("answer",)
    answer: AnswerRefusal

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # part of an answer is out: only closing is left
            return super().handle_error(request, status, exc, message)
        return self.answer(request, status, exc)
