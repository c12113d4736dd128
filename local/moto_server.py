"""The local stack's AWS endpoint: moto's server in a process of its own (``python -m local.moto_server``).

moto is pure Python: in the runner's process it shared one interpreter lock with the gateway, the
queue pollers and the schedules, so every webhook, poll and invocation waited behind the AWS calls
of all the others. In its own process it runs beside them, on another core. DynamoDB requests run
under the shim of :mod:`local.moto_dynamo` (atomic requests, transactions and queries as DynamoDB
does them), and their attribute values are written by :mod:`local.moto_serialize` (moto's generic
serializer was a third of this server's busy time); update expressions are parsed once and simple
ones applied directly (:mod:`local.moto_update`), condition expressions parsed once per set of
names (:mod:`local.moto_conditions`); DynamoDB and SQS requests skip moto's Flask layer and keep
their connections open (:mod:`local.moto_front`).

It prints ``MOTO_READY <port>`` on stdout once it accepts connections, and exits when its standard
input closes (the runner died, however it died) or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading


def remember_backends() -> None:
    """moto finds the service of every request by testing its host against each backend's URL
    patterns in turn (hundreds of regular expressions, under a global lock): an eighth of the
    server's time. The answer depends on the host alone, so remember it per host."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, object] = {}

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> object:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes or a signal arrives."""
    parser = argparse.ArgumentParser(prog="python -m local.moto_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from local.moto_front import LeanDispatcher, keep_alive_handler
    from local.moto_shims import embedded_moto

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin() -> None:
        # os.read, not sys.stdin: a buffered read still blocked at interpreter shutdown aborts it.
        while os.read(0, 65536):
            pass  # EOF: the runner is gone
        stop.set()

    remember_backends()
    with embedded_moto():
        # What moto's ThreadedMotoServer runs, with DynamoDB and SQS requests kept off Flask and
        # answered on kept-alive connections.
        app = LeanDispatcher(DomainDispatcherApplication(create_backend_app))
        server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=keep_alive_handler())
        threading.Thread(target=server.serve_forever, daemon=True, name="moto-http").start()
        print(f"MOTO_READY {server.server_address[1]}", flush=True)
        threading.Thread(target=watch_stdin, daemon=True, name="stdin-watch").start()
        stop.wait()
        server.shutdown()
    sys.stdout.flush()
    os._exit(0)  # the stdin watcher may still be blocked in a read: nothing is left to finalise


if __name__ == "__main__":
    main()
