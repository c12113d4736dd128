"""DynamoDB and SQS requests reach moto's handlers without Flask in between.

moto's server routes every request through a Flask app per service: a request context, URL
routing, a ``flask.request`` proxy that ``convert_to_flask_response`` turns back into moto's own
request, CORS hooks, then Flask's response finalisation. For the two services the local stack
calls hundreds of times a second, :class:`LeanDispatcher` does what that path does for the
request, minus Flask: it asks moto's dispatcher which service the request is for (the same
lookup), matches the same URL rules, builds the same request object (``BackendRequest``) and
calls the same handler, then answers with the same status, headers and body.

Anything it is not sure of goes the usual way: other services, a request with an ``Origin``
header (CORS answers belong to Flask's hook), a path no rule of the service matches, a view that
is not moto's plain handler wrapper. ``tests/unit/local/test_local_moto_front.py`` sends the
same requests through both and compares the answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

LEAN_SERVICES = frozenset(("dynamodb", "sqs"))


class LeanDispatcher:
    """A WSGI app in front of moto's ``DomainDispatcherApplication``."""

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        app = self.dispatcher.get_application(environ)
        handler = self._handler(app, environ)
        if handler is None:
            return app(environ, start_response)  # type: ignore[no-any-return]
        return _answer(handler, environ, start_response)

    @staticmethod
    def _handler(app: Any, environ: dict[str, Any]) -> Callable[..., Any] | None:
        from moto.core.utils import convert_to_flask_response
        from werkzeug.exceptions import HTTPException

        if getattr(app, "service", None) not in LEAN_SERVICES or "HTTP_ORIGIN" in environ:
            return None
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None  # no rule (or a redirect): Flask answers it as it always did
        view = app.view_functions.get(endpoint)
        if not isinstance(view, convert_to_flask_response):
            return None
        return view.callback  # type: ignore[no-any-return]


def _answer(handler: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """``convert_to_flask_response.__call__`` without Flask's request context."""
    from botocore.exceptions import ClientError
    from flask import Response
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import BackendRequest

    request = BackendRequest(environ)
    try:
        recorder._record_request(request)
        result = handler(request, request.raw_url, dict(request.headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    if len(result) == 3:
        status, headers, content = result
    else:
        status, headers, content = 200, {}, result
    response = Response(response=content, status=status, headers=headers)
    if request.method == "HEAD" and "content-length" in headers:
        response.headers["Content-Length"] = headers["content-length"]
    return response(environ, start_response)


def keep_alive_handler() -> type[Any]:
    """moto's request handler, answering DynamoDB and SQS requests on a kept-alive connection.

    werkzeug's development server closes every connection after one answer (http.server cannot
    drain a request body it did not read), so each AWS call of every function opened a new TCP
    connection and the server a new thread. A DynamoDB or SQS call is a POST whose body length is
    known: this handler reads exactly that body, runs the same WSGI app on it, and writes the
    answer with its ``Content-Length``, leaving the connection open for the client's next call.
    Every other request is werkzeug's, as before (and closes its connection).
    """
    import io

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.exceptions import InternalServerError

    class KeepAliveHandler(MotoRequestHandler):  # type: ignore[misc]
        # On a kept-alive connection Nagle's algorithm would hold a small answer back until the
        # client's delayed ACK of the previous one (40 ms a call).
        disable_nagle_algorithm = True

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # werkzeug formats the request line, the client's address and the time for every
            # request before its logger (at WARNING in local.moto_server) drops the line: ~5 % of
            # the server's CPU during the demo's dialing (py-spy --gil).
            if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
                super().log_request(code, size)

        def _body_length(self) -> int | None:
            target = self.headers.get("X-Amz-Target", "")
            length = self.headers.get("Content-Length", "")
            if (
                self.command != "POST"
                or not target.startswith(("DynamoDB_20120810.", "AmazonSQS."))
                or not length.isdigit()
                or "Transfer-Encoding" in self.headers
                or "Expect" in self.headers
            ):
                return None
            return int(length)

        def run_wsgi(self) -> None:
            length = self._body_length()
            if length is None:
                super().run_wsgi()
                return
            environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length))
            answer: dict[str, Any] = {}

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer["status"], answer["headers"] = status, headers
                return lambda data: None  # the WSGI write() of old: moto's apps return their body

            try:
                chunks = self.server.app(environ, start_response)
                try:
                    body = b"".join(chunks)
                finally:
                    getattr(chunks, "close", lambda: None)()
            except Exception:
                logging.getLogger(__name__).exception("moto failed on %s", environ.get("HTTP_X_AMZ_TARGET"))
                chunks = InternalServerError()(environ, start_response)
                body = b"".join(chunks)
                self.close_connection = True
            code, _, reason = answer["status"].partition(" ")
            self.send_response(int(code), reason)
            keys = set()
            for key, value in answer["headers"]:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
                    keys.add(key.lower())
            if "server" not in keys:
                self.send_header("Server", self.version_string())
            if "date" not in keys:
                self.send_header("Date", self.date_time_string())
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self._headers_buffer.append(b"\r\n" + body)  # head and body in one send
            self.flush_headers()

    return KeepAliveHandler
