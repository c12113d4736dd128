"""One warm Lambda-like process per function: AWS's Runtime Interface Emulator (shipped in the
aws-sam-cli wheel) running ``awslambdaric`` on the runtime's interpreter, from the build output.
A small stdlib Runtime API server stands in when the RIE binary is missing."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("local.sandbox")

_ERROR_KEYS = {"errorMessage", "errorType", "requestId", "stackTrace"}
_GRACE_SECONDS = 5  # beyond the function timeout, before the runner gives up on the RIE itself
_START_ATTEMPTS = 3  # starts of an environment's process before its invocation fails
# Lambda's synchronous request payload limit; the RIE silently truncates bigger events instead.
MAX_EVENT_BYTES = 6_291_456


@dataclass
class FunctionSpec:
    """What a sandbox needs to know about a function, resolved from the template."""

    logical_id: str
    name: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: list[Path] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    timeout: int = 3
    memory: int = 128
    arn: str = ""
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions, when the template sets it
    # Provisioned concurrency (the template's, on the function's alias: the init webhook, which
    # Telnyx times out): locally that many environments start, and initialise, with the stack.
    provisioned: int = 0


@dataclass
class InvokeResult:
    """A function's answer: the payload Lambda returns and, on failure, the error type."""

    payload: bytes
    error_type: str | None = None
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        """True for an unhandled error, a timeout or a crashed runtime."""
        return self.error_type is not None

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)


def _error(error_type: str, message: str) -> InvokeResult:
    return InvokeResult(json.dumps({"errorType": error_type, "errorMessage": message}).encode(), error_type)


def free_port() -> int:
    """A free TCP port on 127.0.0.1, for a server this process binds itself at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Ports a child process (the RIE) is told to listen on. Not from the ephemeral range (Linux 32768+,
# macOS 49152+): a port the kernel handed out for a bind to 0 and got back is soon the source port
# of some outgoing connection, and the RIE then panics on "address already in use" (seen in CI).
_CHILD_PORTS = range(20000, 32768)
_child_ports_lock = threading.Lock()
_child_ports_taken: set[int] = set()


def child_port() -> int:
    """A port that is free now, outside the ephemeral range, and not handed to another child of this
    process; ``release_child_port`` gives it back. Another process may still take it before the
    child binds: the caller retries on a failed start."""
    with _child_ports_lock:
        while True:
            port = random.choice(_CHILD_PORTS)
            if port in _child_ports_taken:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _child_ports_taken.add(port)
            return port


def release_child_port(*ports: int) -> None:
    with _child_ports_lock:
        _child_ports_taken.difference_update(ports)


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def find_rie() -> Path | None:
    """The RIE binary inside the installed aws-sam-cli, if any."""
    try:
        import samcli
    except ImportError:
        return None
    machine = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    path = Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{machine}"
    return path if path.is_file() else None


def find_python(runtime: str) -> str:
    """The interpreter matching a Lambda runtime such as ``python3.12``: pyenv's newest X.Y.*,
    else ``pythonX.Y`` on PATH (resolved past pyenv shims, which cost a fork per start)."""
    version = runtime.removeprefix("python")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True, timeout=10)
        candidates = [v for v in out.stdout.split() if v.startswith(version + ".") and v.count(".") == 2]
        for candidate in sorted(candidates, key=lambda v: int(v.rsplit(".", 1)[1]), reverse=True):
            prefix = subprocess.run(
                ["pyenv", "prefix", candidate], capture_output=True, text=True, timeout=10
            )
            path = Path(prefix.stdout.strip()) / "bin" / f"python{version}"
            if prefix.returncode == 0 and path.is_file():
                return str(path)
    found = shutil.which(f"python{version}")
    if not found:
        raise FileNotFoundError(f"no interpreter for {runtime}: install python{version} or pass --python")
    return found


#: botocore client plugins the runner may name in ``BOTOCORE_EXPERIMENTAL__PLUGINS`` (never deployed).
RUNTIME_PLUGINS = Path(__file__).resolve().parent / "runtime_plugins"


class Sandbox:
    """A function's process, started on first use and kept warm; one invocation at a time."""

    # What Lambda tells the function in AWS_LAMBDA_INITIALIZATION_TYPE: "provisioned-concurrency"
    # lets its init code wire clients ahead of the first invocation.
    initialization_type = "on-demand"

    def __init__(
        self, spec: FunctionSpec, python: str, runtime_dir: Path, base_env: dict[str, str], log_dir: Path
    ):
        self.spec = spec
        self.python = python
        self.runtime_dir = runtime_dir
        self.base_env = base_env
        self.log_path = log_dir / f"{spec.logical_id}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # the RIE panics on overlapping invokes
        self.closed = False  # set by close(): an invocation racing the stack's stop starts nothing

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets, the function's own, and the local endpoint and credentials."""
        spec = self.spec
        path = [spec.code_dir, *spec.layer_dirs, self.runtime_dir, RUNTIME_PLUGINS]
        return {
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
            **spec.environment,
            **self.base_env,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(str(p) for p in path),
            "PYTHONUNBUFFERED": "1",  # log lines reach the log file as they happen
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(self.runtime_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": self.initialization_type,
        }

    def _command(self) -> list[str]:
        return [self.python, "-S", "-s", "-m", "awslambdaric", self.spec.handler]

    def _spawn(self, command: list[str], extra_env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            log_file.write(f"--- {time.strftime('%H:%M:%S')} starting {self.spec.logical_id}\n".encode())
            log_file.flush()
            self.process = subprocess.Popen(
                command,
                cwd=self.spec.code_dir,
                env={**self.environment(), **extra_env},
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: the runtime dies with its emulator
            )

    def start(self) -> None:
        """Start the process (idempotent)."""
        raise NotImplementedError

    def _send(self, event: bytes) -> InvokeResult:
        raise NotImplementedError

    def alive(self) -> bool:
        """True while the sandbox process runs."""
        return self.process is not None and self.process.poll() is None

    def invoke(self, event: bytes) -> InvokeResult:
        """Invoke the function synchronously with a JSON event; waits for any invocation in flight."""
        if len(event) > MAX_EVENT_BYTES:
            return _error(
                "RequestEntityTooLargeException",
                f"{len(event)} byte payload is larger than Lambda's {MAX_EVENT_BYTES} byte limit",
            )
        with self._lock:
            if self.closed:
                return _error("Sandbox.Stopped", "the local stack is stopping")
            if not self.alive():
                try:
                    self.start()
                except (OSError, RuntimeError) as exc:  # an answer, never an exception for the caller
                    log.warning("%s", exc)
                    return _error("Sandbox.Failure", f"the execution environment did not start: {exc}")
                if self.closed:  # closed while starting: nothing may outlive the stack
                    self.stop()
                    return _error("Sandbox.Stopped", "the local stack is stopping")
            started = time.perf_counter()
            result = self._send(event)
            result.duration_ms = (time.perf_counter() - started) * 1000
            return result

    def pids(self) -> list[int]:
        """The sandbox process and its descendants (the RIE starts the runtime in a group of its own)."""
        return [self.process.pid, *descendants(self.process.pid)] if self.alive() and self.process else []

    def stop(self) -> None:
        """Stop the process group and the runtime under it: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is None:
            return
        children = descendants(process.pid)
        for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        for pid in children:  # whatever outlived the RIE (it normally stops its runtime itself)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Release everything the sandbox holds (the runner calls it on exit)."""
        self.closed = True
        self.stop()


class RieSandbox(Sandbox):
    """The function under AWS's Runtime Interface Emulator (Lambda's own timeouts, errors, log lines)."""

    def __init__(self, *args: Any, rie: Path, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rie = rie
        self.port = 0
        self._ports: tuple[int, ...] = ()

    def start(self) -> None:
        """Start the RIE on two free loopback ports and wait until it accepts connections; a start
        that loses its ports to another process (the RIE exits at once) is retried on new ones."""
        if self.alive():
            return
        for _ in range(_START_ATTEMPTS):
            self._release_ports()
            self._ports = (child_port(), child_port())
            self.port = self._ports[0]
            command = [
                str(self.rie),
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{self._ports[0]}",
                "--runtime-api-address",
                f"127.0.0.1:{self._ports[1]}",
                "--log-level",
                "error",
                *self._command(),
            ]
            self._spawn(command, {"LOG_LEVEL": "error"})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.alive():
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
                time.sleep(0.01)
            self.stop()
        raise RuntimeError(f"{self.spec.logical_id}: RIE did not start, see {self.log_path}")

    def _release_ports(self) -> None:
        release_child_port(*self._ports)
        self._ports = ()

    def stop(self) -> None:
        """Stop the RIE and give its ports back."""
        super().stop()
        self._release_ports()

    def _send(self, event: bytes) -> InvokeResult:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.spec.timeout + _GRACE_SECONDS)
        try:
            conn.request("POST", "/2015-03-31/functions/function/invocations", body=event)
            response = conn.getresponse()
            status, body = response.status, response.read()
        except TimeoutError:
            self.stop()  # wedged beyond its own timeout: start afresh next time
            return _error("Sandbox.Timedout", f"Task timed out after {self.spec.timeout:.2f} seconds")
        except (OSError, http.client.HTTPException) as exc:
            self.stop()
            return _error("Sandbox.Failure", f"the sandbox failed: {exc}")
        finally:
            conn.close()
        return classify_rie_answer(status, body)


def classify_rie_answer(status: int, body: bytes) -> InvokeResult:
    """The RIE answers 200 for handled errors and timeouts too; recognise them by shape."""
    if body.startswith(b"Task timed out after"):
        return _error("Sandbox.Timedout", body.decode())
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    is_error = isinstance(decoded, dict) and {"errorType", "errorMessage"} <= decoded.keys() <= _ERROR_KEYS
    if status != 200 or is_error:
        error_type = decoded.get("errorType") if isinstance(decoded, dict) else None
        return InvokeResult(body, str(error_type or "Runtime.Unknown"))
    return InvokeResult(body)


class _RuntimeApi(ThreadingHTTPServer):
    """Lambda's Runtime API for one runtime process (the fallback when the RIE is missing)."""

    daemon_threads = True

    def __init__(self, function_arn: str):
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.function_arn = function_arn
        self.events: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        self.results: queue.Queue[tuple[str, bytes, str | None]] = queue.Queue()
        self.stopping = threading.Event()


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    server: _RuntimeApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it, delayed ACKs add ~90 ms to every invoke

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The runtime was stopped while it waited: the invocation sees its process gone.
            self.close_connection = True

    def do_GET(self) -> None:
        """``/invocation/next``: long-poll for the next event."""
        while not self.server.stopping.is_set():
            try:
                request_id, event, deadline = self.server.events.get(timeout=0.5)
            except queue.Empty:
                continue
            headers = {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(deadline * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                "Content-Type": "application/json",
            }
            return self._reply(200, event, headers)
        self._reply(503)
        return None

    def do_POST(self) -> None:
        """``/invocation/{id}/response``, ``/invocation/{id}/error`` and ``/init/error``."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.strip("/").split("/")
        if parts[-1] == "response":
            self.server.results.put((parts[-2], body, None))
        else:
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown"
            self.server.results.put((parts[-2] if parts[-2] != "init" else "*", body, error_type))
        self._reply(202)


class ApiSandbox(Sandbox):
    """The function's runtime against the runner's own Runtime API server (no RIE). Its runtime
    starts, and initialises the function, as soon as the sandbox starts: with ``provisioned``, it
    is told so, as Lambda tells provisioned environments."""

    api: _RuntimeApi | None = None

    def __init__(self, *args: Any, provisioned: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if provisioned:
            self.initialization_type = "provisioned-concurrency"

    def start(self) -> None:
        """Start the Runtime API server (once) and the runtime process."""
        if self.api is None:
            self.api = _RuntimeApi(self.spec.arn)
            threading.Thread(
                target=self.api.serve_forever, daemon=True, name=f"rapi-{self.spec.name}"
            ).start()
        if not self.alive():
            host, port = self.api.server_address[:2]
            self._spawn(self._command(), {"AWS_LAMBDA_RUNTIME_API": f"{host}:{port}"})

    def _send(self, event: bytes) -> InvokeResult:
        assert self.api is not None
        request_id = str(uuid.uuid4())
        deadline = time.time() + self.spec.timeout
        self.api.events.put((request_id, event, deadline))
        while True:
            try:
                rid, body, error_type = self.api.results.get(timeout=0.05)
            except queue.Empty:
                if not self.alive():
                    self.stop()
                    return _error("Runtime.ExitError", "the runtime exited during the invocation")
                if time.time() > deadline:
                    self.stop()  # like Lambda: the timed-out environment is discarded
                    return _error("Sandbox.Timedout", f"Task timed out after {self.spec.timeout:.2f} seconds")
                continue
            if rid not in (request_id, "*"):
                continue  # a late answer to an invocation that already timed out
            if rid == "*":  # init error: the runtime exits; the event must not linger for the next start
                self._drain()
                self.stop()
            return InvokeResult(body, error_type)

    def _drain(self) -> None:
        assert self.api is not None
        with contextlib.suppress(queue.Empty):
            while True:
                self.api.events.get_nowait()

    def stop(self) -> None:
        """Stop the runtime process; the API server stays up for the next start."""
        super().stop()
        if self.api is not None:
            self._drain()

    def close(self) -> None:
        """Stop the process and the Runtime API server."""
        self.closed = True
        self.stop()
        if self.api is not None:
            self.api.stopping.set()
            self.api.shutdown()
            self.api.server_close()
            self.api = None


class FunctionPool:
    """A function's execution environments, as Lambda keeps them: up to ``concurrency`` sandboxes
    that run one invocation each, at the same time. The first is started with the stack; the others
    start on the first invocation that finds every warm one busy (a cold start, as in Lambda), and
    stay warm. The most recently used idle sandbox serves the next invocation."""

    def __init__(self, make: Any, concurrency: int):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self._make = make
        self.concurrency = concurrency
        self.sandboxes: list[Sandbox] = []
        self._idle: list[Sandbox] = []
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0  # the most invocations that ran at once (what a test of overlap reads)
        self._closed = False

    @property
    def spec(self) -> FunctionSpec:
        """The function every sandbox of the pool runs."""
        return self._first().spec

    @property
    def log_path(self) -> Path:
        """One log per function: its environments append to it, line by line."""
        return self._first().log_path

    def _first(self) -> Sandbox:
        with self._lock:
            if not self.sandboxes:
                self.sandboxes.append(self._make())
                self._idle.append(self.sandboxes[0])
            return self.sandboxes[0]

    def start(self) -> None:
        """Start the first environment (the others start when they are first needed)."""
        self._first().start()

    def start_all(self, count: int | None = None) -> None:
        """Start environments in the background up to ``count`` (default: the pool's concurrency),
        each joining the idle ones once it runs (provisioned concurrency: no invocation waits for
        a cold start)."""
        wanted = min(count or self.concurrency, self.concurrency)

        def warm() -> None:
            while True:
                with self._lock:
                    if self._closed or len(self.sandboxes) >= wanted:
                        return
                sandbox = self._make()
                try:
                    sandbox.start()
                except (OSError, RuntimeError) as exc:  # the pool starts it on demand instead
                    log.warning("%s", exc)
                    return
                with self._lock:
                    if self._closed:
                        break
                    self.sandboxes.append(sandbox)
                    self._idle.insert(0, sandbox)  # behind the most recently used, which serves next
            sandbox.close()

        threading.Thread(target=warm, name="prewarm", daemon=True).start()

    def invoke(self, event: bytes) -> InvokeResult:
        """Run the event in an idle environment, starting one if all are busy and the pool has room;
        waits while ``concurrency`` invocations are in flight (Lambda would throttle instead: the
        local event sources and the gateway never send more than that at once)."""
        with self._slots:
            with self._lock:
                if self._closed:
                    return _error("Sandbox.Stopped", "the local stack is stopping")
                sandbox = self._idle.pop() if self._idle else None
                if sandbox is None:
                    sandbox = self._make()
                    self.sandboxes.append(sandbox)
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                return sandbox.invoke(event)
            finally:
                with self._lock:
                    self.in_flight -= 1
                    self._idle.append(sandbox)

    def pids(self) -> list[int]:
        """Every process of every environment."""
        with self._lock:
            sandboxes = list(self.sandboxes)
        return [pid for sandbox in sandboxes for pid in sandbox.pids()]

    def close(self) -> None:
        """Stop every environment (in parallel: a busy one may take its grace period); nothing
        starts another afterwards."""
        with self._lock:
            self._closed = True
            sandboxes = list(self.sandboxes)
        closing = [threading.Thread(target=s.close) for s in sandboxes]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()
