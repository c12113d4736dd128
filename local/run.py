"""One command for the whole stack: ``python -m local.run`` (tools venv, repo root, after ``sam build``).

template.yaml (built) → aws-sam-translator → queues/tables/buckets on moto → one Lambda-like process
per function → API routes, SQS event-source mappings and schedules → ``/_local`` control endpoints.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.gateway import Gateway, routes_from_template
from local.provision import Provisioner, register_computed
from local.sandbox import (
    ApiSandbox,
    FunctionPool,
    FunctionSpec,
    InvokeResult,
    RieSandbox,
    find_python,
    find_rie,
)
from local.template import ACCOUNT_ID, Resolver, TemplateError, code_path, parameter_values, translate
from local.tenants import check_public_key, dev_tenant, public_key_parameter
from local.triggers import QueueMapping, QueuePoller, Schedule, Scheduler, Target

log = logging.getLogger("local.run")
LOCAL_STAGE = "local"  # the only stage a shifted clock is honoured on (dialer.clock)
# Execution environments per function (Lambda runs many; the template's reserved concurrency caps
# it). Measured on a 2-core machine: see docs/decisions.md, "local stack concurrency".
DEFAULT_CONCURRENCY = 4
REPO = Path(__file__).resolve().parent.parent
BUILT_TEMPLATE = Path(".aws-sam/build/template.yaml")


@dataclass
class Options:
    """Everything the stack can be told from the command line."""

    template: Path = BUILT_TEMPLATE
    overrides: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    stack_name: str = "local"
    port: int = 3000
    moto_port: int = 5055
    aws_endpoint: str | None = None
    tenants: dict[str, str] = field(default_factory=dict)
    visibility_timeout: int | None = None
    schedule_period: float | None = None
    schedule_periods: dict[str, float] = field(default_factory=dict)  # logical id → seconds
    clock_offset: float = 0.0
    sandbox: str = "rie"
    concurrency: int = DEFAULT_CONCURRENCY
    # Functions run as if provisioned at their concurrency (``--warm``).
    warm: frozenset[str] = frozenset()
    batching_window: float | None = None  # cap on every SQS mapping's batching window (seconds)
    python: str | None = None
    log_dir: Path = Path(".local/logs")
    runtime_dir: Path = REPO / ".local/lambda-runtime"
    dev_tenant_file: Path = Path(".local/dev-tenant.json")
    ready_file: Path | None = None
    verbose: bool = False
    # The stack's DynamoDB and SQS requests through botocore's own HTTP stack, not the local transport.
    botocore_http: bool = False


class LocalStack:
    """The running stack; also the Python API for tests and the demo (``seed_tenant``, ``invoke``...)."""

    def __init__(self, options: Options):
        self.options = options
        self.stopping = threading.Event()
        self.sandboxes: dict[str, FunctionPool] = {}
        self.aliases: dict[str, str] = {}  # function name or ARN → logical id
        self.physical: dict[str, str] = {}
        self.param_prefixes: list[str] = []
        self.tenants: list[str] = []
        self.dev_tenant: dict[str, Any] | None = None
        self.moto: subprocess.Popen[str] | None = None
        self.gateway: Gateway | None = None
        self.scheduler: Scheduler | None = None
        self.endpoint = ""
        self.ready_seconds = 0.0
        self.local_stage = False  # Stage=local (set by start)
        self._clients: dict[str, Any] = {}
        self._stopped = False

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's AWS endpoint (thread-safe, cached)."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(  # the local endpoint accepts any credentials
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106
                region_name=self.options.region,
            )
            # Every queue's poller and its batches share the client: botocore's 10 connections made
            # it open and drop one per call under load (urllib3's "connection pool is full").
            config = Config(max_pool_connections=64)
            client = session.client(service, endpoint_url=self.endpoint, config=config)
            if self.fast_transport:
                # The queue pollers' SQS requests, as the functions' (below): a quarter of the CPU.
                from local.runtime_plugins.local_aws_transport import initialize_client_plugin

                initialize_client_plugin(client)
            self._clients[service] = client
        return self._clients[service]

    @property
    def fast_transport(self) -> bool:
        """Whether the stack's DynamoDB and SQS requests skip botocore's HTTP stack: only on the
        embedded moto server, unless ``--botocore-http``."""
        return self.options.aws_endpoint is None and not self.options.botocore_http

    def start(self) -> None:
        """Provision, start the sandboxes, the gateway and the event sources; returns when ready."""
        started = time.perf_counter()
        opts = self.options
        if not opts.template.is_file():
            hint = " (run `make build`, i.e. `sam build`, first)" if opts.template == BUILT_TEMPLATE else ""
            raise TemplateError(f"template {opts.template} not found{hint}")
        cfn = translate(opts.template, opts.overrides, opts.region)
        resources: dict[str, dict[str, Any]] = cfn.get("Resources") or {}
        parameters = parameter_values(cfn, opts.overrides)
        check_clock_offset(opts.clock_offset, parameters.get("Stage"))
        self.local_stage = parameters.get("Stage") == LOCAL_STAGE
        resolver = Resolver(cfn, parameters, opts.region, opts.stack_name)
        self._start_aws()
        provisioner = Provisioner(resolver, self.client, opts.visibility_timeout)
        self.physical = provisioner.provision(resources)
        register_computed(resolver, resources)
        active = {
            lid: res
            for lid, res in resources.items()
            if "Condition" not in res or resolver.condition(res["Condition"])
        }
        specs = self._functions(active, resolver, opts.template.resolve().parent)
        self._start_sandboxes(specs)
        self._seed_tenants()
        routes = routes_from_template(active, resolver, self.aliases)
        self.gateway = Gateway(opts.port, routes, self)
        threading.Thread(target=self.gateway.serve_forever, daemon=True, name="gateway").start()
        self._start_event_sources(active, resolver, provisioner.queue_urls_by_arn)
        self.ready_seconds = time.perf_counter() - started

    def _start_aws(self) -> None:
        if self.options.aws_endpoint:
            self.endpoint = self.options.aws_endpoint.rstrip("/")
            return
        # moto in a process of its own (local.moto_server): off the runner's interpreter lock.
        self.moto = subprocess.Popen(
            [sys.executable, "-m", "local.moto_server", "--port", str(self.options.moto_port)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
            stdin=subprocess.PIPE,  # closed when the runner exits, however it exits: moto stops too
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.moto.stdout is not None
        line = self.moto.stdout.readline()
        if not line.startswith("MOTO_READY "):
            self.moto.kill()
            raise RuntimeError(f"the moto server did not start: {line!r}")
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"

    def _functions(
        self, resources: dict[str, Any], resolver: Resolver, template_dir: Path
    ) -> list[FunctionSpec]:
        layer_dirs: dict[str, Path] = {}
        for lid, res in resources.items():
            content = code_path(template_dir, (res.get("Properties") or {}).get("Content") or {})
            if res["Type"] == "AWS::Lambda::LayerVersion" and content is not None:
                # Built layers (and source layers without BuildMethod) keep packages under python/.
                layer_dirs[resolver.refs[lid]] = (
                    content / "python" if (content / "python").is_dir() else content
                )
        specs = []
        for lid, res in resources.items():
            if res["Type"] != "AWS::Lambda::Function":
                continue
            props = res["Properties"]
            code_dir = code_path(template_dir, resolver.resolve(props.get("Code") or {}))
            runtime = props.get("Runtime", "")
            if code_dir is None or not runtime.startswith("python") or props.get("PackageType") == "Image":
                log.warning("%s: only local python zip functions run locally; skipped", lid)
                continue
            env = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
            name = resolver.refs[lid]
            arn = resolver.attributes[(lid, "Arn")]
            self.aliases.update({lid: lid, name: lid, arn: lid})
            specs.append(
                FunctionSpec(
                    lid,
                    name,
                    props["Handler"],
                    runtime,
                    code_dir,
                    [
                        layer_dirs[arn]
                        for arn in resolver.resolve(props.get("Layers") or [])
                        if arn in layer_dirs
                    ],
                    {k: str(v) for k, v in env.items()},
                    int(props.get("Timeout", 3)),
                    int(props.get("MemorySize", 128)),
                    arn,
                    _reserved(resolver.resolve(props.get("ReservedConcurrentExecutions"))),
                )
            )
            if "PARAM_PREFIX" in env and env["PARAM_PREFIX"] not in self.param_prefixes:
                self.param_prefixes.append(env["PARAM_PREFIX"])
        provisioned = self._provisioned(resources, resolver)
        for spec in specs:
            spec.provisioned = provisioned.get(spec.logical_id, 0)
        return specs

    def _provisioned(self, resources: dict[str, Any], resolver: Resolver) -> dict[str, int]:
        """Provisioned concurrency per function. SAM puts ``ProvisionedConcurrencyConfig`` on the
        function's alias (``AutoPublishAlias``), under the template's condition, not on the function."""
        found: dict[str, int] = {}
        for res in resources.values():
            props = res.get("Properties") or {}
            if res["Type"] != "AWS::Lambda::Alias" or "ProvisionedConcurrencyConfig" not in props:
                continue
            resolved = resolver.resolve(
                {k: props[k] for k in ("FunctionName", "ProvisionedConcurrencyConfig")}
            )
            config = resolved.get("ProvisionedConcurrencyConfig") or {}
            count = _reserved(config.get("ProvisionedConcurrentExecutions"))
            lid = self.aliases.get(str(resolved.get("FunctionName")))
            if count and lid:
                found[lid] = count
        return found

    def _start_sandboxes(self, specs: list[FunctionSpec]) -> None:
        opts = self.options
        unknown = opts.warm - {spec.logical_id for spec in specs}
        if unknown:
            raise TemplateError(f"--warm names no function of the template: {', '.join(sorted(unknown))}")
        rie = find_rie() if opts.sandbox == "rie" else None
        if opts.sandbox == "rie" and rie is None:
            log.warning("RIE binary not found in aws-sam-cli: using the built-in Runtime API server")
        base_env = {
            "AWS_REGION": opts.region,
            "AWS_DEFAULT_REGION": opts.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": self.endpoint,
            # The developer's ~/.aws must not redirect or re-credential the sandboxes.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        if self.fast_transport:
            # The embedded moto server's DynamoDB and SQS requests skip botocore's HTTP stack and
            # parser (local/runtime_plugins/local_aws_transport.py: the same values, a third of the CPU).
            base_env["BOTOCORE_EXPERIMENTAL__PLUGINS"] = "local_aws=local_aws_transport"
        if opts.clock_offset:
            base_env["CLOCK_OFFSET_SECONDS"] = repr(opts.clock_offset)
        if self.local_stage:
            # Event webhooks may go to receivers on this machine (http, loopback only; issue 24).
            base_env["WEBHOOK_ALLOW_LOOPBACK"] = "true"
        pythons: dict[str, str] = {}
        for spec in specs:
            python = opts.python or pythons.get(spec.runtime) or find_python(spec.runtime)
            pythons[spec.runtime] = python
            args = (spec, python, opts.runtime_dir.resolve(), base_env, opts.log_dir.resolve())
            concurrency = min(opts.concurrency, spec.reserved_concurrency or opts.concurrency)
            if spec.provisioned:
                # Initialised ahead of use, as Lambda keeps provisioned environments: the RIE only
                # starts the runtime on the first invocation, the built-in Runtime API at once.
                pool = FunctionPool(lambda a=args: ApiSandbox(*a, provisioned=True), concurrency)
                pool.start()
                pool.start_all(spec.provisioned)
            elif spec.logical_id in opts.warm:
                # As if provisioned at its concurrency: on Lambda a burst's scale-out cold starts
                # run on other hosts; here a dozen interpreters importing boto3 and wiring clients
                # at once would take this machine's cores from the burst itself.
                pool = FunctionPool(lambda a=args: ApiSandbox(*a, provisioned=True), concurrency)
                pool.start()
                pool.start_all()
            else:
                pool = FunctionPool(
                    (lambda a=args: RieSandbox(*a, rie=rie)) if rie else (lambda a=args: ApiSandbox(*a)),
                    concurrency,
                )
                pool.start()
            self.sandboxes[spec.logical_id] = pool

    def _start_event_sources(
        self, resources: dict[str, Any], resolver: Resolver, queues: dict[str, str]
    ) -> None:
        for lid, res in resources.items():
            props = res.get("Properties") or {}
            if res["Type"] != "AWS::Lambda::EventSourceMapping" or props.get("Enabled") in (False, "false"):
                continue
            source = resolver.resolve(props.get("EventSourceArn"))
            function = self.aliases.get(resolver.resolve(props.get("FunctionName")))
            if source not in queues or function is None:
                log.warning("%s: only SQS event sources of local functions run locally; skipped", lid)
                continue
            window = float(resolver.resolve(props.get("MaximumBatchingWindowInSeconds")) or 0)
            if self.options.batching_window is not None:
                window = min(window, self.options.batching_window)
            mapping = QueueMapping(
                lid,
                function,
                source,
                queues[source],
                int(props.get("BatchSize", 10)),
                window,
                "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            )
            # Lambda polls a queue with several concurrent batches, up to the mapping's
            # MaximumConcurrency and the function's own concurrency.
            scaling = resolver.resolve(props.get("ScalingConfig")) or {}
            cap = _reserved(scaling.get("MaximumConcurrency") if isinstance(scaling, dict) else None)
            pollers = min(self.sandboxes[function].concurrency, cap or self.options.concurrency)
            for n in range(pollers):
                QueuePoller(
                    mapping, self.client("sqs"), self.invoke, self.options.region, self.stopping, n
                ).start()
        schedules: dict[str, Schedule] = {}
        for lid, res in resources.items():
            props = resolver.resolve(res.get("Properties") or {}) if res["Type"] in _SCHEDULE_TYPES else {}
            if not props.get("ScheduleExpression"):
                continue
            kind, arn_path = _SCHEDULE_TYPES[res["Type"]]
            targets = props.get("Targets") or [props.get("Target") or {}]
            service = kind.removeprefix("aws.")
            schedules[lid] = Schedule(
                lid,
                f"arn:aws:{service}:{self.options.region}:{ACCOUNT_ID}:{arn_path}/{props.get('Name', lid)}",
                props["ScheduleExpression"],
                [
                    Target(self.aliases.get(t.get("Arn", "")), queues.get(t.get("Arn", "")), t.get("Input"))
                    for t in targets
                    if t.get("Arn") in self.aliases or t.get("Arn") in queues
                ],
                kind,
                props.get("State", "ENABLED") == "ENABLED",
            )
        self.scheduler = Scheduler(
            schedules, self.invoke, self.client("sqs"), self.options.region, self.stopping
        )
        known = set(schedules) | {t.function for s in schedules.values() for t in s.targets if t.function}
        unknown = set(self.options.schedule_periods) - known
        if unknown:
            log.warning("--schedule-period for unknown schedule(s): %s", ", ".join(sorted(unknown)))
        self.scheduler.start(self.options.schedule_period, self.options.schedule_periods)

    def _seed_tenants(self) -> None:
        tenants = dict(self.options.tenants)
        if not tenants:
            self.dev_tenant = dev_tenant(self.options.dev_tenant_file)
            tenants[self.dev_tenant["tenant_id"]] = self.dev_tenant["public_key"]
        for name, key in tenants.items():
            self.seed_tenant(name, key)

    def seed_tenant(self, tenant: str, public_key: str) -> list[str]:
        """Store a tenant's webhook public key under every PARAM_PREFIX the functions use."""
        check_public_key(public_key)
        if not self.param_prefixes:
            log.warning("no function has PARAM_PREFIX: tenant %s not stored", tenant)
        names = [public_key_parameter(prefix, tenant) for prefix in self.param_prefixes]
        for name in names:
            self.client("ssm").put_parameter(Name=name, Value=public_key, Type="String", Overwrite=True)
        if tenant not in self.tenants:
            self.tenants.append(tenant)
        return names

    def invoke(self, function: str, event: bytes) -> InvokeResult:
        """Invoke a function (logical id, name or ARN) synchronously with a JSON event."""
        return self.sandboxes[self.aliases[function]].invoke(event)

    def fire_schedule(self, logical_id: str) -> list[dict[str, Any]]:
        """Deliver one tick of a schedule rule now."""
        assert self.scheduler is not None
        return self.scheduler.fire(logical_id)

    def describe(self) -> dict[str, Any]:
        """Endpoints and resources, as printed in the ready line and served at ``/_local/health``."""
        assert self.gateway is not None
        assert self.scheduler is not None
        api = self.gateway.url
        return {
            "pid": os.getpid(),
            "ready_seconds": round(self.ready_seconds, 3),
            "api_url": api,
            "control_url": f"{api}/_local",
            "aws_endpoint": self.endpoint,
            "region": self.options.region,
            "account_id": ACCOUNT_ID,
            "routes": [
                {"method": r.method, "path": r.resource, "function": r.function, "url": api + r.resource}
                for r in self.gateway.routes
            ],
            "resources": self.physical,
            "functions": {
                lid: {
                    "name": s.spec.name,
                    "log": str(s.log_path),
                    "pids": s.pids(),
                    "concurrency": s.concurrency,
                    "environments": len(s.sandboxes),
                    "provisioned": s.spec.provisioned,
                    "peak_concurrency": s.peak,
                }
                for lid, s in self.sandboxes.items()
            },
            "schedules": {lid: s.expression for lid, s in self.scheduler.schedules.items()},
            "schedule_periods": self.scheduler.periods,
            "clock_offset_seconds": self.options.clock_offset,
            "param_prefixes": self.param_prefixes,
            "tenants": self.tenants,
            "dev_tenant_file": str(self.options.dev_tenant_file.resolve()) if self.dev_tenant else None,
        }

    def stop(self) -> None:
        """Stop every child process and server (idempotent; also registered with atexit)."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        if self.gateway is not None:
            self.gateway.shutdown()
            self.gateway.server_close()
        # In parallel: a sandbox busy with an invocation may take its whole grace period to stop.
        closing = [threading.Thread(target=s.close) for s in self.sandboxes.values()]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()
        if self.moto is not None:
            self.moto.terminate()
            try:
                self.moto.wait(5)
            except subprocess.TimeoutExpired:
                self.moto.kill()
                self.moto.wait()


_SCHEDULE_TYPES = {  # type → (event source, ARN resource path)
    "AWS::Events::Rule": ("aws.events", "rule"),
    "AWS::Scheduler::Schedule": ("aws.scheduler", "schedule/default"),
}


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{what} must be NAME=VALUE, got {value!r}")
        pairs[key] = val
    return pairs


def _reserved(value: Any) -> int | None:
    """A resolved concurrency setting (ReservedConcurrentExecutions, MaximumConcurrency): a positive
    number, or None where the template leaves it unset (``AWS::NoValue``)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def check_clock_offset(offset: float, stage: str | None) -> None:
    """A clock offset needs Stage=local: the functions would refuse it (dialer.clock); say so first."""
    if offset and stage != LOCAL_STAGE:
        raise TemplateError(
            f"--clock-offset needs Stage={LOCAL_STAGE} (got Stage={stage}): "
            "a shifted clock is for the local stage only"
        )


def _schedule_periods(values: list[str]) -> tuple[float | None, dict[str, float]]:
    """``--schedule-period`` values: a bare number for every schedule, ``LogicalId=SECONDS`` for one."""
    every: float | None = None
    each: dict[str, float] = {}
    for value in values:
        name, sep, seconds = value.rpartition("=")
        try:
            period = float(seconds)
        except ValueError:
            raise SystemExit(
                f"--schedule-period must be SECONDS or LogicalId=SECONDS, got {value!r}"
            ) from None
        if period < 0 or (sep and not name):
            raise SystemExit(f"--schedule-period must be SECONDS or LogicalId=SECONDS, got {value!r}")
        if sep:
            each[name] = period
        else:
            every = period
    return every, each


def parse_args(argv: list[str] | None = None) -> Options:
    """Command-line options (see ``python -m local.run --help``)."""
    parser = argparse.ArgumentParser(prog="python -m local.run", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--template", type=Path, default=BUILT_TEMPLATE, help="default: the sam build output")
    add("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="e.g. Stage=local")
    add("--region", default="us-east-1")
    add("--stack-name", default="local", help="prefix of generated physical names")
    add("--port", type=int, default=3000, help="API + /_local control port (0: any free port)")
    add("--moto-port", type=int, default=5055, help="embedded moto server port (0: any free port)")
    add("--aws-endpoint", help="use this AWS endpoint instead of the embedded moto server")
    add(
        "--tenant",
        action="append",
        default=[],
        metavar="NAME=BASE64_PUBLIC_KEY",
        help="store a tenant's webhook public key in SSM (repeatable); default: a dev tenant",
    )
    add("--visibility-timeout", type=int, help="override every queue's VisibilityTimeout (seconds)")
    add(
        "--schedule-period",
        action="append",
        default=[],
        metavar="[LogicalId=]SECONDS",
        help="fire every schedule (or one, by its or its target function's logical id) each N seconds "
        "instead of its rate "
        "(0: on demand only; repeatable)",
    )
    add(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="shift the functions' clock (CLOCK_OFFSET_SECONDS; Stage=local only), e.g. to place "
        "'now' inside every US zone's calling window",
    )
    add("--sandbox", choices=("rie", "python"), default="rie", help="python: built-in Runtime API, no RIE")
    add(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="execution environments per function, started as needed (a function's reserved "
        f"concurrency caps it; default {DEFAULT_CONCURRENCY})",
    )
    add(
        "--warm",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="run this function as if provisioned at its concurrency: every environment starts and "
        "initialises with the stack, in the background (repeatable)",
    )
    add(
        "--batching-window",
        type=float,
        metavar="SECONDS",
        help="cap every SQS mapping's MaximumBatchingWindowInSeconds (e.g. for a sped-up clock)",
    )
    add("--python", help="interpreter for the functions (default: the one matching Runtime)")
    add("--log-dir", type=Path, default=Path(".local/logs"))
    add("--dev-tenant-file", type=Path, default=Path(".local/dev-tenant.json"))
    add("--ready-file", type=Path, help="write the ready JSON (endpoints, resources) here")
    add(
        "--botocore-http",
        action="store_true",
        help="send the stack's DynamoDB and SQS requests through botocore's own HTTP stack (default: "
        "the embedded moto server's are sent by local/runtime_plugins/local_aws_transport.py)",
    )
    add("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.batching_window is not None and args.batching_window < 0:
        parser.error("--batching-window must be 0 or more")
    every, each = _schedule_periods(args.schedule_period)
    options = Options(
        template=args.template,
        overrides=_pairs(args.parameter_overrides, "--parameter-overrides"),
        region=args.region,
        stack_name=args.stack_name,
        port=args.port,
        moto_port=args.moto_port,
        aws_endpoint=args.aws_endpoint,
        tenants=_pairs(args.tenant, "--tenant"),
        visibility_timeout=args.visibility_timeout,
        schedule_period=every,
        schedule_periods=each,
        clock_offset=args.clock_offset,
        sandbox=args.sandbox,
        concurrency=args.concurrency,
        warm=frozenset(args.warm),
        batching_window=args.batching_window,
        python=args.python,
        log_dir=args.log_dir,
        dev_tenant_file=args.dev_tenant_file,
        ready_file=args.ready_file,
        verbose=args.verbose,
        botocore_http=args.botocore_http,
    )
    return options


def _banner(info: dict[str, Any]) -> str:
    lines = [f"local stack ready in {info['ready_seconds']:.2f} s", f"  API          {info['api_url']}"]
    lines += [f"    {r['method']:7} {r['url']}  -> {r['function']}" for r in info["routes"]]
    lines += [f"  AWS endpoint {info['aws_endpoint']}  (region {info['region']}, dummy credentials)"]
    lines += [
        f"  control      GET {info['control_url']}/health",
        f"               POST {info['control_url']}/invoke/{{Function}}  (body: event)",
        f"               POST {info['control_url']}/schedules/{{LogicalId}}",
        f'               PUT  {info["control_url"]}/tenants/{{tenant}}  (body: {{"public_key": ...}})',
    ]
    lines += [f"  schedule     {lid}: {expr}" for lid, expr in info["schedules"].items()]
    lines += [f"  resource     {lid}: {physical}" for lid, physical in info["resources"].items()]
    lines += [f"  logs         {fn}: {meta['log']}" for fn, meta in info["functions"].items()]
    if info["dev_tenant_file"]:
        lines.append(f"  dev tenant   {', '.join(info['tenants'])} (keys: {info['dev_tenant_file']})")
    return "\n".join(lines)


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    """Set ``stop`` once the process that started the runner is gone (we are re-parented)."""
    while not stop.wait(1):
        if os.getppid() != parent:
            log.warning("the process that started the stack (pid %d) is gone: stopping", parent)
            stop.set()


def main(argv: list[str] | None = None) -> int:
    """Run the stack until SIGINT/SIGTERM/SIGHUP; every child process is stopped on the way out."""
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if options.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("AWS_DEFAULT_REGION", options.region)
    stack = LocalStack(options)
    atexit.register(stack.stop)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    # A parent that dies without stopping the stack (killed, not interrupted) must not leave it
    # running: its functions and moto would go on polling, unseen, for ever.
    parent = os.getppid()
    threading.Thread(
        target=_stop_when_orphaned, args=(parent, stop), daemon=True, name="parent-watch"
    ).start()
    try:
        stack.start()
        info = stack.describe()
        print(_banner(info), flush=True)
        print("LOCAL_STACK_READY " + json.dumps(info), flush=True)
        if options.ready_file:
            tmp = options.ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            tmp.replace(options.ready_file)  # atomic: a reader never sees half a file
        while not stop.wait(1):
            pass
    except (TemplateError, FileNotFoundError, RuntimeError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
