"""Every DynamoDB key format, in one place.

Items are scoped by tenant in their partition key, so no query can cross tenants by accident.
Partitions are per entity (not per tenant) to keep writes spread out.
"""

from __future__ import annotations


def call_key(tenant_id: str, call_control_id: str) -> dict[str, str]:
    """A call record: one per tenant and Telnyx ``call_control_id`` (TeXML ``CallSid``)."""
    return {"pk": f"T#{tenant_id}#CALL#{call_control_id}", "sk": "CALL"}


def conversation_key(tenant_id: str, conversation_id: str) -> dict[str, str]:
    """Which call an AI conversation belongs to (joins the insight-group webhook to its call)."""
    return {"pk": f"T#{tenant_id}#CONV#{conversation_id}", "sk": "CONV"}


def insight_group_key(tenant_id: str) -> dict[str, str]:
    """The tenant's insight group and its insight id → name map."""
    return {"pk": f"T#{tenant_id}#INSIGHTGROUP", "sk": "INSIGHTGROUP"}


def receipt_key(tenant_id: str, event_id: str) -> dict[str, str]:
    """The receipt of one applied webhook event (dedupe on ``data.id``), expires by TTL."""
    return {"pk": f"T#{tenant_id}#EVENT#{event_id}", "sk": "RECEIPT"}


# --- management API (issue 5) ------------------------------------------------------------------
# Tenants and API keys are looked up by id without a tenant in hand (the authorizer only has the
# key), so their partitions are global; everything else stays under ``T#{tenant}``.


def tenant_key(tenant_id: str) -> dict[str, str]:
    """A tenant record."""
    return {"pk": f"TENANT#{tenant_id}", "sk": "TENANT"}


def api_key_key(key_id: str) -> dict[str, str]:
    """An API key record, found by the key id embedded in the key itself (no scan, no tenant)."""
    return {"pk": f"APIKEY#{key_id}", "sk": "APIKEY"}


def api_keys_index(tenant_id: str, created_at: str = "", key_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's API keys, oldest first."""
    return {"gsi1pk": f"T#{tenant_id}#APIKEYS", "gsi1sk": f"{created_at}#{key_id}" if key_id else ""}


def assistant_key(tenant_id: str, assistant_id: str) -> dict[str, str]:
    """The mirror of one Telnyx assistant."""
    return {"pk": f"T#{tenant_id}#ASSISTANT#{assistant_id}", "sk": "ASSISTANT"}


def assistants_index(tenant_id: str, assistant_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's assistant mirrors by id."""
    return {"gsi1pk": f"T#{tenant_id}#ASSISTANTS", "gsi1sk": assistant_id}


def number_assignment_key(tenant_id: str, number_id: str) -> dict[str, str]:
    """Which assistant a tenant's Telnyx number is assigned to."""
    return {"pk": f"T#{tenant_id}#NUMBER#{number_id}", "sk": "ASSIGNMENT"}


def number_assignments_index(tenant_id: str, number_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's number assignments."""
    return {"gsi1pk": f"T#{tenant_id}#NUMBERS", "gsi1sk": number_id}


def caller_id_key(tenant_id: str, caller_id_id: str) -> dict[str, str]:
    """One caller-ID pool entry of a tenant."""
    return {"pk": f"T#{tenant_id}#CALLERID#{caller_id_id}", "sk": "CALLERID"}


def caller_id_health_key(tenant_id: str, caller_id_id: str) -> dict[str, str]:
    """One caller ID's rolling health counters. All of a tenant's share one partition, so the
    pool's answer rate is one Query."""
    return {"pk": f"T#{tenant_id}#CIDHEALTH", "sk": f"N#{caller_id_id}"}


def caller_id_health_settings_key(tenant_id: str) -> dict[str, str]:
    """The tenant's caller-ID health rule (next to the counters it judges)."""
    return {"pk": f"T#{tenant_id}#CIDHEALTH", "sk": "SETTINGS"}


def caller_ids_index(tenant_id: str, caller_id_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's caller-ID pool."""
    return {"gsi1pk": f"T#{tenant_id}#CALLERIDS", "gsi1sk": caller_id_id}


# --- campaigns, leads, imports, DNC and contact history (issue 6) -----------------------------
# A lead's id is derived from (campaign, E.164): the same person imported twice into a campaign
# (a duplicate row, a re-import, a JSON batch) lands on the same item and merges.


def campaign_key(tenant_id: str, campaign_id: str) -> dict[str, str]:
    """A campaign record."""
    return {"pk": f"T#{tenant_id}#CAMPAIGN#{campaign_id}", "sk": "CAMPAIGN"}


def campaigns_index(tenant_id: str, campaign_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's campaigns (ids are time-ordered, so oldest first)."""
    return {"gsi1pk": f"T#{tenant_id}#CAMPAIGNS", "gsi1sk": campaign_id}


def lead_id_for(campaign_id: str, e164: str) -> str:
    """The deterministic id of the lead for this phone number in this campaign."""
    import hashlib

    digest = hashlib.sha256(f"{campaign_id}|{e164}".encode()).hexdigest()
    return f"ld_{digest[:26]}"


def lead_key(tenant_id: str, lead_id: str) -> dict[str, str]:
    """A lead record (one per campaign and phone number)."""
    return {"pk": f"T#{tenant_id}#LEAD#{lead_id}", "sk": "LEAD"}


def leads_by_phone_index(
    tenant_id: str, e164: str, campaign_id: str = "", lead_id: str = ""
) -> dict[str, str]:
    """gsi1 keys finding a tenant's leads by phone number, across campaigns."""
    return {
        "gsi1pk": f"T#{tenant_id}#PHONE#{e164}",
        "gsi1sk": f"LEAD#{campaign_id}#{lead_id}" if lead_id else "",
    }


def campaign_leads_index(tenant_id: str, campaign_id: str, lead_id: str = "") -> dict[str, str]:
    """gsi2 keys paging the leads of a campaign by lead id."""
    return {"gsi2pk": f"T#{tenant_id}#CAMPAIGN#{campaign_id}#LEADS", "gsi2sk": lead_id}


def import_key(tenant_id: str, import_id: str) -> dict[str, str]:
    """A CSV import's record (status, checkpoint, counters)."""
    return {"pk": f"T#{tenant_id}#IMPORT#{import_id}", "sk": "IMPORT"}


def pending_imports_index(tenant_id: str, upload_until: str = "", import_id: str = "") -> dict[str, str]:
    """gsi1 entry of an import still waiting for its file, in upload-deadline order (sparse: the
    entry goes when the import starts or fails, so the reaper reads only the waiting ones)."""
    return {
        "gsi1pk": f"T#{tenant_id}#IMPORTS#PENDING",
        "gsi1sk": f"{upload_until}#{import_id}" if import_id else "",
    }


def results_export_key(tenant_id: str, export_id: str) -> dict[str, str]:
    """An asynchronous results export's record (status, object key); expires by TTL."""
    return {"pk": f"T#{tenant_id}#EXPORT#{export_id}", "sk": "EXPORT"}


def running_export_key(tenant_id: str, campaign_id: str) -> dict[str, str]:
    """The campaign's latest asynchronous results export (one job for many asks)."""
    return {"pk": f"T#{tenant_id}#EXPORTS#{campaign_id}", "sk": "LATEST"}


def import_error_key(tenant_id: str, import_id: str, line: int) -> dict[str, str]:
    """One rejected row of an import, in the import's partition, ordered by line."""
    return {"pk": f"T#{tenant_id}#IMPORT#{import_id}", "sk": f"ERR#{line:010d}"}


def import_object_key(tenant_id: str, campaign_id: str, import_id: str) -> str:
    """The S3 key a CSV import is uploaded to (the bucket notification parses it back)."""
    return f"imports/{tenant_id}/{campaign_id}/{import_id}.csv"


def parse_import_object_key(key: str) -> tuple[str, str, str] | None:
    """(tenant, campaign, import) from an S3 key made by :func:`import_object_key`, else None."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "imports" or not parts[3].endswith(".csv"):
        return None
    tenant_id, campaign_id, import_id = parts[1], parts[2], parts[3].removesuffix(".csv")
    if not (tenant_id and campaign_id and import_id):
        return None
    return tenant_id, campaign_id, import_id


def dnc_key(tenant_id: str, e164: str) -> dict[str, str]:
    """A number on a tenant's internal do-not-call list."""
    return {"pk": f"T#{tenant_id}#DNC#{e164}", "sk": "DNC"}


def dnc_index(tenant_id: str, e164: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's DNC entries by number."""
    return {"gsi1pk": f"T#{tenant_id}#DNCLIST", "gsi1sk": e164}


def dnc_audit_key(tenant_id: str, e164: str, at: str, audit_id: str) -> dict[str, str]:
    """One append-only audit item of a DNC change, beside the entry it changes (newest last)."""
    return {"pk": f"T#{tenant_id}#DNC#{e164}", "sk": f"AUDIT#{at}#{audit_id}"}


def contact_key(tenant_id: str, e164: str, at: str, call_id: str) -> dict[str, str]:
    """One call to a person (phone number), across campaigns: the frequency caps count these."""
    return {"pk": f"T#{tenant_id}#CONTACT#{e164}", "sk": f"CALL#{at}#{call_id}"}


def voicemail_key(tenant_id: str, lead_id: str) -> dict[str, str]:
    """The calls that left a message for one lead (a lead id is per campaign): the per-lead cap."""
    return {"pk": f"T#{tenant_id}#VOICEMAIL#{lead_id}", "sk": "VOICEMAIL"}


def idempotency_key(tenant_id: str, operation: str, key: str) -> dict[str, str]:
    """A create made under a client's ``Idempotency-Key`` (``operation`` never contains ``#``)."""
    return {"pk": f"T#{tenant_id}#IDEMPOTENCY#{operation}#{key}", "sk": "IDEMPOTENCY"}


# --- dialing engine (issue 9) ------------------------------------------------------------------
# Due and in-flight entries share the sparse ``due`` index: a lead is never in both. Due entries
# are partitioned per campaign (a paused or canceled campaign's entries are simply not read, and
# activation has nothing to backfill) and write-sharded by lead id.


def due_index(
    tenant_id: str, campaign_id: str, shard: int, priority: int = 1, at: str = "", lead_id: str = ""
) -> dict[str, str]:
    """Due entry of a pending lead: priority 0 (callback) sorts before 1, then by due time."""
    return {
        "due_pk": f"T#{tenant_id}#C#{campaign_id}#DUE#{shard}",
        "due_sk": f"{priority}#{at}#{lead_id}" if lead_id else f"{priority}#",
    }


def due_time(due_sk: str) -> str:
    """When a due entry falls due (its sort key's time, as written by :func:`due_index`)."""
    return due_sk.split("#", 2)[1]


def inflight_index(tenant_id: str, shard: int, claimed_at: str = "", lead_id: str = "") -> dict[str, str]:
    """In-flight entry of a dialing lead, by claim time (the reaper finds stuck claims by age)."""
    return {
        "due_pk": f"T#{tenant_id}#INFLIGHT#{shard}",
        "due_sk": f"{claimed_at}#{lead_id}" if lead_id else "",
    }


def attempt_key(tenant_id: str, lead_id: str, n: int) -> dict[str, str]:
    """A claimed attempt, beside its lead (one Query reads a lead and its attempts)."""
    return {"pk": f"T#{tenant_id}#LEAD#{lead_id}", "sk": f"ATTEMPT#{n:04d}"}


def dialing_registry(tenant_id: str = "", campaign_id: str = "") -> dict[str, str]:
    """gsi2 keys of an active campaign: one Query lists every tenant's dialable campaigns."""
    return {"gsi2pk": "DIALING", "gsi2sk": f"{tenant_id}#{campaign_id}" if campaign_id else ""}


def dialing_state_key(tenant_id: str, sk: str) -> dict[str, str]:
    """A tenant's shared dialing state: ``SLOTS`` (counter), ``RATE`` (limiter),
    ``LEASE#DISPATCH`` (the dispatch loop's lease) and ``SLOT#{holder}`` (inbound calls' slot
    leases; an outbound attempt holds its lease on its own item)."""
    return {"pk": f"T#{tenant_id}#DIALING", "sk": sk}


def campaign_stats_key(tenant_id: str, campaign_id: str, shard: int) -> dict[str, str]:
    """A campaign's counters (leads by state, deferrals by reason, outcomes), sharded like leads."""
    return {"pk": f"T#{tenant_id}#CAMPAIGN#{campaign_id}", "sk": f"STATS#{shard}"}


def campaign_pace_key(tenant_id: str, campaign_id: str, minute: str) -> dict[str, str]:
    """Claims of a campaign in one UTC minute (its optional per-minute pacing cap)."""
    return {"pk": f"T#{tenant_id}#CAMPAIGN#{campaign_id}", "sk": f"PACE#{minute}"}


def caller_id_usage_key(tenant_id: str, caller_id_id: str, day: str) -> dict[str, str]:
    """Calls placed from one caller ID on one UTC day (its daily cap)."""
    return {"pk": f"T#{tenant_id}#CALLERID#{caller_id_id}", "sk": f"USAGE#{day}"}


def tenants_index(tenant_id: str = "") -> dict[str, str]:
    """gsi1 keys listing every tenant (the reaper visits them all)."""
    return {"gsi1pk": "TENANTS", "gsi1sk": tenant_id}


#: Shards of a campaign's (and a tenant's) call totals: each its own partition, so 30 calls/s
#: settling at once spread their counter writes instead of queueing on one key.
TOTALS_SHARDS = 8


def campaign_totals_key(tenant_id: str, campaign_id: str, shard: int) -> dict[str, str]:
    """One shard of a campaign's call totals (cost, talk time, outcomes, dispositions, variants)."""
    return {"pk": f"T#{tenant_id}#CAMPAIGN#{campaign_id}#TOTALS#{shard}", "sk": "TOTALS"}


def scheduled_event_key(tenant_id: str, lead_id: str, event_id: str) -> dict[str, str]:
    """Our record of a Telnyx scheduled event, beside its lead (``event_id``: Telnyx's id)."""
    return {"pk": f"T#{tenant_id}#LEAD#{lead_id}", "sk": f"SCHED#{event_id}"}


def pending_scheduled_index(tenant_id: str, e164: str, event_id: str = "") -> dict[str, str]:
    """gsi1 keys of a *pending* scheduled event, beside the number's leads (sparse: removed once
    the event is canceled), so a DNC add finds the number's events in one Query."""
    return {"gsi1pk": f"T#{tenant_id}#PHONE#{e164}", "gsi1sk": f"SCHED#{event_id}" if event_id else "SCHED#"}


def scheduled_horizon_key(tenant_id: str) -> dict[str, str]:
    """The latest time any of the tenant's scheduled events is due: a DNC add after it has
    nothing to cancel, so tenants without scheduled events pay one GetItem."""
    return {"pk": f"T#{tenant_id}#SCHEDULED", "sk": "HORIZON"}


# --- event webhooks out (issue 24) --------------------------------------------------------------
#: Shards of the two global work lists below (pending outbox events, due deliveries).
WEBHOOK_SHARDS = 4


def webhook_endpoint_key(tenant_id: str, endpoint_id: str) -> dict[str, str]:
    """A webhook endpoint; its deliveries live in the same partition (sk ``DELIV#...``)."""
    return {"pk": f"T#{tenant_id}#WHEP#{endpoint_id}", "sk": "WHEP"}


def webhook_endpoints_index(tenant_id: str, endpoint_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's webhook endpoints."""
    return {"gsi1pk": f"T#{tenant_id}#WHEPS", "gsi1sk": endpoint_id}


def webhook_delivery_key(tenant_id: str, endpoint_id: str, created_at: str, event_id: str) -> dict[str, str]:
    """One event's delivery to one endpoint (newest last in the endpoint's partition)."""
    return {"pk": f"T#{tenant_id}#WHEP#{endpoint_id}", "sk": f"DELIV#{created_at}#{event_id}"}


#: Write shards of one day of a tenant's events: at 100 events/s a shard takes ~75 WCU/s (each
#: event is a transactional Put, 2 WCU, and its fan-out's update, 1 WCU), under 8 % of a
#: partition's 1,000; a replay since an instant reads at most 31 days x 4 partitions.
WEBHOOK_EVENT_SHARDS = 4


def webhook_events_partition(tenant_id: str, day: str, shard: int) -> str:
    """One day (``yyyy-mm-dd``, UTC) of one shard of a tenant's events, sorted by time."""
    return f"T#{tenant_id}#WHEVT#{day}#{shard}"


def webhook_event_key(tenant_id: str, created_at: str, event_id: str) -> dict[str, str]:
    """An outbox event (written in the same transaction as the state change it reports), listed
    by the table's own key: the day of ``created_at`` and a shard taken from the id's random
    tail. Both come from the id (:func:`dialer.domain.event_webhooks.event_created_at`)."""
    shard = int(event_id[-1], 16) % WEBHOOK_EVENT_SHARDS
    return {
        "pk": webhook_events_partition(tenant_id, created_at[:10], shard),
        "sk": f"{created_at}#{event_id}",
    }


def legacy_webhook_event_key(tenant_id: str, event_id: str) -> dict[str, str]:
    """An event written before the day listing (uuid4 id): read until its 30-day TTL ends."""
    return {"pk": f"T#{tenant_id}#WHEVT#{event_id}", "sk": "WHEVT"}


def legacy_webhook_events_index(tenant_id: str) -> dict[str, str]:
    """The gsi1 listing of those events by time (``created_at#event_id``); nothing new joins it."""
    return {"gsi1pk": f"T#{tenant_id}#WHEVTS"}


def webhook_outbox_index(shard: int, sort: str = "") -> dict[str, str]:
    """gsi2 keys of an event not yet fanned out to its endpoints (sparse: removed once it is)."""
    return {"gsi2pk": f"WHOUTBOX#{shard}", "gsi2sk": sort}


def webhook_due_index(shard: int, sort: str = "") -> dict[str, str]:
    """gsi2 keys of a delivery due at the time its sort key starts with (sparse: removed when done)."""
    return {"gsi2pk": f"WHDUE#{shard}", "gsi2sk": sort}


def lead_sequence_key(tenant_id: str, lead_id: str) -> dict[str, str]:
    """The counter behind a lead's event ``sequence`` numbers."""
    return {"pk": f"T#{tenant_id}#WHSEQ#{lead_id}", "sk": "WHSEQ"}


def breaker_counts_key(tenant_id: str, campaign_id: str, bucket: str) -> dict[str, str]:
    """A campaign's circuit-breaker counts: one item per 10-second bucket (``S#…``), and the
    ``TOTAL`` the release before issue 21's slimmer settlement wrote (read, no longer written)."""
    return {"pk": f"T#{tenant_id}#BRK#{campaign_id}", "sk": bucket}
