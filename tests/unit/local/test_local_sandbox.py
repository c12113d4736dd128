"""The local stack's execution environments under faults: ports for the RIE that outgoing
connections cannot take, a start that fails retried and then answered (never raised), and the
gateway answering 502 (never hanging up) when the stack itself fails. CI saw both: an RIE that
panicked on "address already in use", and a CLI told "Server disconnected without sending a
response"."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local import sandbox
from local.gateway import Gateway, Route
from local.sandbox import FunctionSpec, InvokeResult, RieSandbox, child_port, release_child_port


def _ephemeral_range() -> range:
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except OSError:
        low, high = 49152, 65535  # macOS and the IANA range
    return range(low, high + 1)


def test_ports_for_a_child_are_outside_the_ephemeral_range_and_never_handed_out_twice() -> None:
    # GIVEN many ports handed out at once (an RIE takes two; a burst of cold starts takes many)
    ports = [child_port() for _ in range(200)]
    try:
        # THEN none is one the kernel gives outgoing connections, and none is given twice
        assert not set(ports) & set(_ephemeral_range())
        assert len(set(ports)) == len(ports)
        # AND each is free to bind at the time it is handed out
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", ports[-1]))
    finally:
        release_child_port(*ports)


def test_a_port_taken_by_another_process_is_not_handed_out() -> None:
    # GIVEN every port of the range but one is busy (held here, as another process would)
    held: list[socket.socket] = []
    free = None
    try:
        for port in sandbox._CHILD_PORTS:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            if free is None:
                free = port
                sock.close()
                continue
            held.append(sock)
        # THEN the one left is the one handed out
        assert child_port() == free
        release_child_port(free)
    finally:
        for sock in held:
            sock.close()


@pytest.fixture
def failing_environment(tmp_path: Path) -> RieSandbox:
    """An environment whose emulator exits at once, as the RIE does when it loses its port."""
    spec = FunctionSpec("BrokenFunction", "BrokenFunction", "app.handler", "python3.12", tmp_path)
    return RieSandbox(spec, "python3", tmp_path, {}, tmp_path / "logs", rie=Path("/bin/false"))


def test_an_environment_that_cannot_start_is_retried_then_answered_as_a_failure(
    failing_environment: RieSandbox,
) -> None:
    # WHEN it is invoked
    result = failing_environment.invoke(b"{}")
    # THEN the caller gets Lambda's kind of answer, not an exception
    assert result.error_type == "Sandbox.Failure"
    assert "did not start" in result.json()["errorMessage"]
    # AND it was tried more than once, on new ports each time, which it gave back
    starts = failing_environment.log_path.read_text().count("starting BrokenFunction")
    assert starts == sandbox._START_ATTEMPTS > 1
    assert not failing_environment._ports
    failing_environment.close()


class _Stack:
    """The gateway's view of the stack (its StackControl protocol) with a fault inside it."""

    def invoke(self, function: str, event: bytes) -> InvokeResult:
        raise RuntimeError("the local stack itself failed")

    def fire_schedule(self, logical_id: str) -> list[dict[str, Any]]:
        return []

    def seed_tenant(self, tenant: str, public_key: str) -> list[str]:
        return []

    def describe(self) -> dict[str, Any]:
        return {}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    route = Route("GET", "/things", "ThingsFunction", "Api", "local")
    server = Gateway(0, [route], _Stack())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_fault_in_the_local_stack_is_a_502_on_a_connection_that_stays_open(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        # WHEN the stack fails while handling a request
        first = client.get("/things")
        # THEN the client gets API Gateway's 502, not a dropped connection
        assert first.status_code == 502
        assert first.json() == {"message": "Internal server error"}
        # AND the same keep-alive connection serves the next request
        assert client.get("/things").status_code == 502
