"""Runtime settings: one pydantic model behind a cached getter.

Read from the environment the template sets (never at import time). Secrets are not settings:
they are read from SSM/Secrets Manager by the adapters. Tests call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIB = 1024 * 1024


class Settings(BaseModel):
    """Everything a function needs to know about its deployment."""

    model_config = ConfigDict(frozen=True)

    stage: str = "dev"
    table_name: str = Field(min_length=1)
    events_queue_url: str = ""
    payload_bucket: str = ""
    # SSM path under which each tenant's configuration lives: {prefix}/tenants/{tenant}/...
    param_prefix: str = "/telnyx-ai-dialer/dev"
    # Largest body Telnyx may send us; bigger is a 413.
    max_webhook_bytes: int = 5 * MIB
    # Largest body carried inline in an SQS message; bigger goes to S3 (claim check). Kept under
    # the classic 256 KiB SQS limit (with room for the envelope), so it holds on every SQS stand-in.
    sqs_inline_max_bytes: int = 200 * 1024
    receipt_ttl_days: int = 7
    config_cache_seconds: int = 300
    unknown_tenant_cache_seconds: int = 60
    # --- management API (issue 5) ---
    # Where the tenant's Telnyx API lives (the local stack points this at the simulator).
    telnyx_base_url: str = "https://api.telnyx.com/v2"
    telnyx_timeout_seconds: float = 8.0
    # This deployment's public base URL (stage included); empty = derived from the request.
    public_api_url: str = ""
    # Telnyx waits this long for the dynamic-variables webhook (1-10000; Telnyx's default is 1500).
    dynamic_variables_timeout_ms: int = 3000
    # The init webhook answers within this (safe defaults if the lookup is not done by then): well
    # inside Telnyx's budget above, with room for API Gateway and the network.
    init_deadline_ms: int = Field(default=700, ge=50, le=5000)
    # API keys: a key's last_used_at is written at most once per this many seconds.
    api_key_touch_seconds: int = 60
    # Optional JWT mode: on when jwt_issuer is set. Keys from jwt_jwks_url, else an HS256 secret
    # in SSM at {param_prefix}/auth/jwt_hs256_secret.
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_jwks_url: str = ""
    jwt_tenant_claim: str = "tenant_id"
    # --- campaigns, leads and imports (issue 6) ---
    # Region national-format phone numbers are read in ("(212) 555-0123" in "US").
    default_region: str = "US"
    # Bucket CSV imports are uploaded to, the queue that drives the import function, and limits.
    import_bucket: str = ""
    import_queue_url: str = ""
    # The import dead-letter queue: the import function consumes it to mark its imports failed.
    import_dlq_arn: str = ""
    import_upload_url_seconds: int = 3600
    import_max_bytes: int = 200 * MIB
    # Rows written per chunk (BatchWriteItem 25 at a time) between checkpoints.
    import_chunk_rows: int = 1000
    # Stop taking new chunks when less than this is left of the invocation; a continuation
    # message picks up from the checkpoint.
    import_reserve_ms: int = 15000
    # Contact history items (per-person calls, for frequency caps) expire after this many days.
    contact_history_days: int = 35
    # --- dialing engine (issue 9) ---
    # Queues of the engine: dial jobs (dispatcher → dialer) and dispatch kicks/sweeps.
    dials_queue_url: str = ""
    dispatch_queue_url: str = ""
    # This deployment's API base URL (stage included): dials get {api_url}/webhooks/telnyx/{tenant}.
    api_url: str = ""
    # A dispatcher run loops sub-ticks of dispatch_tick_seconds for this long (the schedule runs it
    # every minute; the local stack sets it small).
    dispatch_loop_seconds: float = 50.0
    # Seconds between sub-ticks: a channel freed by a hangup is claimed again at the next one.
    dispatch_tick_seconds: float = Field(default=1.0, ge=0.25, le=10)
    # A campaign's due partition (a shard of its callbacks or of its other leads) found with nothing
    # due is not read again before its next lead falls due or this many seconds pass: the most a
    # lead made due without a kick (a retry, a callback, a lead added to a running campaign) waits
    # (0: every partition is read at every sub-tick).
    dispatch_due_staleness_seconds: float = Field(default=5.0, ge=0, le=30)
    # Tenant defaults (a tenant record may override them): Telnyx's limits.
    default_channel_limit: int = 10
    default_dials_per_second: int = 30
    default_dials_per_5s: int = 150
    # Pace this much under the dial-rate limit, so clock jitter never yields a 429.
    dial_rate_headroom: float = 0.03
    # A dialer waits at most this long in-process for its dial-rate token, then requeues the job.
    dial_max_wait_seconds: float = 2.0
    # Telnyx's call time limit on our dials, and the grace after it before the reaper looks a call up.
    call_time_limit_seconds: int = 1800
    reaper_grace_seconds: int = 300
    # A claimed job that no dialer took within this long is put back by the reaper.
    claim_timeout_seconds: int = 300
    # Telnyx's command_id de-duplication window: an ambiguous POST is retried within it, never after.
    command_id_window_seconds: float = 60.0
    # --- transcripts (issue 10) ---
    # Bucket transcripts are kept in (tenants/{tenant}/transcripts/{call_control_id}.json).
    transcript_bucket: str = ""
    # Queue of transcript fetch jobs (event processor → transcripts function).
    transcripts_queue_url: str = ""
    # TranscriptRetentionDays: 0 turns transcripts off (the event processor sends no job). The
    # bucket's lifecycle enforces the days; the processor only needs to know whether to fetch.
    transcript_retention_days: int = Field(default=90, ge=0)
    # An empty conversation is asked for (30 s apart, doubling) up to this many times, then settled
    # as "empty".
    transcript_max_tries: int = Field(default=5, ge=1)
    # Shifts dialer.clock.now() (local stack and demos only: refused unless stage == "local").
    clock_offset_seconds: float = 0.0
    # --- event webhooks out (issue 24) ---
    # Lets event webhooks go to loopback over plain http (the local stack's receivers only:
    # refused unless stage == "local"; deployed stages send https to public addresses only).
    webhook_allow_loopback: bool = False
    # A deliverer run keeps fanning out and sending for this long (the schedule runs it every
    # minute), polling every webhook_delivery_tick_seconds while idle (8 small Queries a poll).
    webhook_delivery_loop_seconds: float = Field(default=50.0, ge=0, le=800)
    webhook_delivery_tick_seconds: float = Field(default=2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _clock_only_local(self) -> Settings:
        if self.clock_offset_seconds and self.stage != "local":
            raise ValueError("CLOCK_OFFSET_SECONDS is only allowed when STAGE is local")
        if self.webhook_allow_loopback and self.stage != "local":
            raise ValueError("WEBHOOK_ALLOW_LOOPBACK is only allowed when STAGE is local")
        return self


_ENV = {
    "stage": "STAGE",
    "table_name": "TABLE_NAME",
    "events_queue_url": "EVENTS_QUEUE_URL",
    "payload_bucket": "PAYLOAD_BUCKET",
    "param_prefix": "PARAM_PREFIX",
    "max_webhook_bytes": "MAX_WEBHOOK_BYTES",
    "sqs_inline_max_bytes": "SQS_INLINE_MAX_BYTES",
    "receipt_ttl_days": "RECEIPT_TTL_DAYS",
    "config_cache_seconds": "CONFIG_CACHE_SECONDS",
    "unknown_tenant_cache_seconds": "UNKNOWN_TENANT_CACHE_SECONDS",
    "telnyx_base_url": "TELNYX_BASE_URL",
    "telnyx_timeout_seconds": "TELNYX_TIMEOUT_SECONDS",
    "public_api_url": "PUBLIC_API_URL",
    "dynamic_variables_timeout_ms": "DYNAMIC_VARIABLES_TIMEOUT_MS",
    "init_deadline_ms": "INIT_DEADLINE_MS",
    "api_key_touch_seconds": "API_KEY_TOUCH_SECONDS",
    "jwt_issuer": "JWT_ISSUER",
    "jwt_audience": "JWT_AUDIENCE",
    "jwt_jwks_url": "JWT_JWKS_URL",
    "jwt_tenant_claim": "JWT_TENANT_CLAIM",
    "default_region": "DEFAULT_PHONE_REGION",
    "import_bucket": "IMPORT_BUCKET",
    "import_queue_url": "IMPORT_QUEUE_URL",
    "import_dlq_arn": "IMPORT_DLQ_ARN",
    "import_upload_url_seconds": "IMPORT_UPLOAD_URL_SECONDS",
    "import_max_bytes": "IMPORT_MAX_BYTES",
    "import_chunk_rows": "IMPORT_CHUNK_ROWS",
    "import_reserve_ms": "IMPORT_RESERVE_MS",
    "contact_history_days": "CONTACT_HISTORY_DAYS",
    "dials_queue_url": "DIALS_QUEUE_URL",
    "dispatch_queue_url": "DISPATCH_QUEUE_URL",
    "api_url": "API_URL",
    "dispatch_loop_seconds": "DISPATCH_LOOP_SECONDS",
    "dispatch_tick_seconds": "DISPATCH_TICK_SECONDS",
    "dispatch_due_staleness_seconds": "DISPATCH_DUE_STALENESS_SECONDS",
    "default_channel_limit": "DEFAULT_CHANNEL_LIMIT",
    "default_dials_per_second": "DEFAULT_DIALS_PER_SECOND",
    "default_dials_per_5s": "DEFAULT_DIALS_PER_5S",
    "dial_rate_headroom": "DIAL_RATE_HEADROOM",
    "dial_max_wait_seconds": "DIAL_MAX_WAIT_SECONDS",
    "call_time_limit_seconds": "CALL_TIME_LIMIT_SECONDS",
    "reaper_grace_seconds": "REAPER_GRACE_SECONDS",
    "claim_timeout_seconds": "CLAIM_TIMEOUT_SECONDS",
    "command_id_window_seconds": "COMMAND_ID_WINDOW_SECONDS",
    "clock_offset_seconds": "CLOCK_OFFSET_SECONDS",
    "transcript_bucket": "TRANSCRIPT_BUCKET",
    "transcripts_queue_url": "TRANSCRIPTS_QUEUE_URL",
    "transcript_retention_days": "TRANSCRIPT_RETENTION_DAYS",
    "transcript_max_tries": "TRANSCRIPT_MAX_TRIES",
    "webhook_allow_loopback": "WEBHOOK_ALLOW_LOOPBACK",
    "webhook_delivery_loop_seconds": "WEBHOOK_DELIVERY_LOOP_SECONDS",
    "webhook_delivery_tick_seconds": "WEBHOOK_DELIVERY_TICK_SECONDS",
}


@cache
def get_settings() -> Settings:
    """Build the settings from the environment once per process."""
    values = {field: os.environ[env] for field, env in _ENV.items() if os.environ.get(env)}
    return Settings.model_validate(values)
