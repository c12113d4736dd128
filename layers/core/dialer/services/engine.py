"""Wiring of the dialing engine's services from settings: the one place the functions, the local
runner and the bench build a dispatcher, a dialer or a reaper (each Lambda caches its own)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.dialing_table import TenantLimits
    from dialer.services.after_call import AfterCall
    from dialer.services.dialer import Dialer
    from dialer.services.dispatcher import Dispatcher
    from dialer.services.reaper import Reaper
    from dialer.settings import Settings


def tenant_defaults(settings: Settings) -> TenantLimits:
    """The Telnyx limits a tenant has unless its record overrides them."""
    from dialer.adapters.dialing_table import TenantLimits

    return TenantLimits(
        channel_limit=settings.default_channel_limit,
        dials_per_second=settings.default_dials_per_second,
        dials_per_5s=settings.default_dials_per_5s,
    )


def build_dispatcher(settings: Settings) -> Dispatcher:
    """The dispatcher, on the state table and the dials queue."""
    from dialer import clock
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.queue import JobsQueue
    from dialer.services.dispatcher import Dispatcher, DispatcherConfig

    table = settings.table_name
    return Dispatcher(
        dialing=DialingTable(table),
        campaigns=CampaignsTable(table),
        dnc=DncTable(table),
        history=ContactHistory(table, keep=timedelta(days=settings.contact_history_days)),
        jobs=JobsQueue(settings.dials_queue_url),
        config=DispatcherConfig(
            defaults=tenant_defaults(settings),
            loop_seconds=settings.dispatch_loop_seconds,
            tick_seconds=settings.dispatch_tick_seconds,
            due_staleness_seconds=settings.dispatch_due_staleness_seconds,
            rate_headroom=settings.dial_rate_headroom,
            slot_seconds=settings.claim_timeout_seconds
            + settings.call_time_limit_seconds
            + settings.reaper_grace_seconds,
        ),
        clock=clock.now,
    )


def telnyx_accounts(settings: Settings, *, max_retries: int = 0):  # type: ignore[no-untyped-def]
    """Per-tenant Telnyx clients. The engine retries dials itself (same command_id, inside the
    de-duplication window), so the client's own retries are off."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.services.telnyx_accounts import TelnyxAccounts

    secrets = TenantSecrets(settings.param_prefix, max_age=settings.config_cache_seconds)
    return TelnyxAccounts(
        secrets,
        base_url=settings.telnyx_base_url,
        timeout=settings.telnyx_timeout_seconds,
        max_retries=max_retries,
    )


def build_dialer(settings: Settings) -> Dialer:
    """The dialer, on the state table, the tenants' Telnyx accounts and the dials queue."""
    from dialer import clock
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.management_table import ManagementTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.queue import JobsQueue
    from dialer.services.dialer import Dialer, DialerConfig

    table = settings.table_name
    return Dialer(
        dialing=DialingTable(table),
        campaigns=CampaignsTable(table),
        management=ManagementTable(table),
        dnc=DncTable(table),
        history=ContactHistory(table, keep=timedelta(days=settings.contact_history_days)),
        telnyx=telnyx_accounts(settings),
        jobs=JobsQueue(settings.dials_queue_url),
        config=DialerConfig(
            api_url=settings.public_api_url or settings.api_url,
            defaults=tenant_defaults(settings),
            rate_headroom=settings.dial_rate_headroom,
            max_wait_seconds=settings.dial_max_wait_seconds,
            time_limit_seconds=settings.call_time_limit_seconds,
            grace_seconds=settings.reaper_grace_seconds,
            command_id_window_seconds=settings.command_id_window_seconds,
            post_timeout_seconds=settings.telnyx_timeout_seconds,
        ),
        clock=clock.now,
    )


def build_reaper(settings: Settings) -> Reaper:
    """The reaper."""
    from dialer import clock
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.import_files import ImportFiles
    from dialer.adapters.queue import JobsQueue
    from dialer.services.imports import ImportExpiry
    from dialer.services.reaper import Reaper, ReaperConfig

    table = settings.table_name
    imports = (
        ImportExpiry(CampaignsTable(table), ImportFiles(settings.import_bucket), clock=clock.now)
        if settings.import_bucket
        else None
    )
    return Reaper(
        dialing=DialingTable(table),
        campaigns=CampaignsTable(table),
        calls=CallsTable(table, receipt_ttl_days=settings.receipt_ttl_days),
        telnyx=telnyx_accounts(settings, max_retries=2),
        jobs=JobsQueue(settings.dials_queue_url),
        config=ReaperConfig(
            claim_timeout_seconds=settings.claim_timeout_seconds,
            command_id_window_seconds=settings.command_id_window_seconds,
            time_limit_seconds=settings.call_time_limit_seconds,
            grace_seconds=settings.reaper_grace_seconds,
        ),
        clock=clock.now,
        imports=imports,
    )


def build_after_call(settings: Settings, calls: CallsTable) -> AfterCall:
    """Insight effects, call totals and the budget cap, for the event processor."""
    from dialer import clock
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.dispositions_table import DispositionsTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.totals_table import TotalsTable
    from dialer.services.after_call import AfterCall

    table = settings.table_name
    return AfterCall(
        table_name=table,
        calls=calls,
        campaigns=CampaignsTable(table),
        dialing=DialingTable(table),
        dispositions=DispositionsTable(table),
        dnc=DncTable(table),
        history=ContactHistory(table, keep=timedelta(days=settings.contact_history_days)),
        totals=TotalsTable(table),
        defaults=tenant_defaults(settings),
        clock=clock.now,
        default_region=settings.default_region,
    )
