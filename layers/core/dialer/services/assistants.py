"""Managing a tenant's Telnyx AI assistants, with a mirror record per assistant.

Reads: the list is served from the mirror (fast, tenant-scoped, as fresh as the last write or
sync); a single assistant, its versions and every write go to Telnyx and refresh the mirror. An
assistant that is not in the tenant's mirror does not exist for the API (404), which is also
what another tenant's id looks like.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from dialer import clock as engine_clock
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.management_table import AssistantMirror, ManagementTable
from dialer.domain.assistants import (
    MAX_ASSISTANT_BYTES,
    DeploymentDefaults,
    apply_create_defaults,
    merged_changes,
    mirrorable,
    settings_size,
    texml_app_id_of,
)
from dialer.errors import DialerError, InvalidInput, NotFound
from dialer.observability import get_logger
from dialer.services.api_models import (
    AssistantCreateRequest,
    AssistantListResponse,
    AssistantPatchRequest,
    AssistantResponse,
    AssistantVersionListResponse,
    AssistantVersionResponse,
    SyncResponse,
)
from dialer.services.telnyx_accounts import telnyx_errors
from telnyx_client.models.assistants import CreateAssistantRequest, UpdateAssistantRequest

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient
    from telnyx_client.models.assistants import Assistant

logger = get_logger()


class AssistantsService:
    """Assistant operations for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        telnyx: Callable[[], TelnyxClient],
        table: ManagementTable,
        defaults: Callable[[], DeploymentDefaults],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self._telnyx = telnyx
        self.table = table
        self._defaults = defaults
        self._clock = clock or engine_clock.now

    @property
    def telnyx(self) -> TelnyxClient:
        """The tenant's Telnyx client (built, and its key read, on first use)."""
        return self._telnyx()

    # --- reads -----------------------------------------------------------------------------------
    def list(self, *, limit: int, cursor: str | None, include_deleted: bool) -> AssistantListResponse:
        """A page of the tenant's assistants from the mirror."""
        after = decode_cursor(cursor)
        mirrors, next_after = self.table.list_mirrors(self.tenant_id, limit=limit, after=after)
        data = [_view(m, "mirror") for m in mirrors if include_deleted or not m.deleted_upstream]
        return AssistantListResponse(data=data, next_cursor=encode_cursor(next_after))

    def get(self, assistant_id: str) -> AssistantResponse:
        """One assistant, fresh from Telnyx (the mirror is refreshed on the way)."""
        mirror = self._mirror(assistant_id)
        assistant = self._retrieve(mirror)
        return _view(self._record(assistant, mirror), "telnyx")

    def versions(self, assistant_id: str) -> AssistantVersionListResponse:
        """The versions Telnyx keeps of an assistant."""
        self._mirror(assistant_id)
        with telnyx_errors("assistant"):
            versions = self.telnyx.assistants.versions.list(assistant_id)
        return AssistantVersionListResponse(data=[_version(v) for v in versions])

    # --- writes ----------------------------------------------------------------------------------
    def create(self, request: AssistantCreateRequest) -> AssistantResponse:
        """Create an assistant on Telnyx with this deployment's defaults, and mirror it."""
        body = request.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude={"deployment_tools"}
        )
        body = apply_create_defaults(body, self._defaults(), deployment_tools=request.deployment_tools)
        _check_size(body)
        wire = _validated(CreateAssistantRequest, body)
        with telnyx_errors("assistant"):
            assistant = self.telnyx.assistants.create(wire)
        return _view(self._record_created(assistant), "telnyx")

    def update(self, assistant_id: str, patch: AssistantPatchRequest) -> AssistantResponse:
        """Change only the fields in ``patch``: settings objects are merged into Telnyx's current
        ones and only fields whose value changes are sent (POST upstream; WIRE §0.1)."""
        mirror = self._mirror(assistant_id)
        current = self._retrieve(mirror).model_dump(mode="json", exclude_none=False)
        requested = patch.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude={"promote_to_main"}
        )
        changes = merged_changes(current, requested)
        if not changes:
            return _view(self._record_dict(current, mirror), "telnyx")
        # Only a change that grows the assistant past the limit is refused (one Telnyx made bigger
        # elsewhere can still be trimmed here).
        after = {**current, **changes}
        if settings_size(after) > max(MAX_ASSISTANT_BYTES, settings_size(current)):
            _check_size(after)
        wire = _validated_update(changes, requested)
        with telnyx_errors("assistant"):
            updated = self.telnyx.assistants.update(assistant_id, wire, promote_to_main=patch.promote_to_main)
        if not patch.promote_to_main:
            # A staged version: the main assistant (and so the mirror) is unchanged.
            return _view(self._record_dict(current, mirror), "telnyx")
        return _view(self._record(updated, mirror), "telnyx")

    def delete(self, assistant_id: str) -> None:
        """Delete on Telnyx (already gone there is fine) and forget the mirror."""
        self._mirror(assistant_id)
        try:
            with telnyx_errors("assistant"):
                self.telnyx.assistants.delete(assistant_id)
        except NotFound:
            pass
        self.table.delete_mirror(self.tenant_id, assistant_id)

    def clone(self, assistant_id: str) -> AssistantResponse:
        """Clone on Telnyx (telephony and messaging settings are not copied) and mirror the clone."""
        self._mirror(assistant_id)
        with telnyx_errors("assistant"):
            clone = self.telnyx.assistants.clone(assistant_id)
        return _view(self._record_created(clone), "telnyx")

    def promote(self, assistant_id: str, version_id: str) -> AssistantResponse:
        """Make a version the main one."""
        mirror = self._mirror(assistant_id)
        with telnyx_errors("assistant version"):
            promoted = self.telnyx.assistants.versions.promote(assistant_id, version_id)
        return _view(self._record(promoted, mirror), "telnyx")

    def sync(self) -> SyncResponse:
        """Pull every assistant of the tenant's Telnyx account into the mirror; mark the ones gone upstream."""
        with telnyx_errors("assistant list"):
            upstream = self.telnyx.assistants.list()
        known = {m.assistant_id: m for m in self.table.all_mirrors(self.tenant_id)}
        created = updated = 0
        seen: set[str] = set()
        for assistant in upstream:
            if not assistant.id:
                continue
            seen.add(assistant.id)
            previous = known.get(assistant.id)
            self._record(assistant, previous)
            if previous is None:
                created += 1
            else:
                updated += 1
        marked = 0
        for assistant_id, mirror in known.items():
            if assistant_id not in seen and not mirror.deleted_upstream:
                self._mark_deleted(mirror)
                marked += 1
        group_id = self._defaults().insight_group_id
        if group_id:
            self.attach_insight_group(group_id)
        return SyncResponse(total_upstream=len(seen), created=created, updated=updated, marked_deleted=marked)

    def attach_insight_group(self, group_id: str) -> builtins.list[str]:
        """Point the tenant's assistants that report to no insight group at ``group_id``; returns
        the ids changed. An assistant already pointed at a group (the user's choice) is left alone;
        one that cannot be changed is skipped (logged) and tried again next time."""
        unattached = [
            mirror.assistant_id
            for mirror in self.table.all_mirrors(self.tenant_id)
            if not mirror.deleted_upstream
            and not (mirror.settings.get("insight_settings") or {}).get("insight_group_id")
        ]
        attached = []
        for assistant_id in unattached:
            try:
                self.update(
                    assistant_id, AssistantPatchRequest(insight_settings={"insight_group_id": group_id})
                )
            except DialerError as exc:
                # One assistant Telnyx refuses (or lost) must not stop the others; the next
                # sync or POST /tenants/me/insight-group tries it again.
                logger.warning(
                    "assistant not attached to the insight group", assistant_id=assistant_id, reason=str(exc)
                )
                continue
            attached.append(assistant_id)
        return attached

    # --- helpers ---------------------------------------------------------------------------------
    def mirror(self, assistant_id: str) -> AssistantMirror:
        """The tenant's mirror of an assistant; NotFound if the tenant has none."""
        return self._mirror(assistant_id)

    def _mirror(self, assistant_id: str) -> AssistantMirror:
        mirror = self.table.get_mirror(self.tenant_id, assistant_id)
        if mirror is None or mirror.deleted_upstream:
            raise NotFound("assistant not found")
        return mirror

    def _retrieve(self, mirror: AssistantMirror) -> Assistant:
        try:
            with telnyx_errors("assistant"):
                return self.telnyx.assistants.retrieve(mirror.assistant_id)
        except NotFound:
            self._mark_deleted(mirror)
            raise

    def _mark_deleted(self, mirror: AssistantMirror) -> None:
        self.table.put_mirror(
            AssistantMirror(**{**_fields(mirror), "deleted_upstream": True, "synced_at": self._now()})
        )

    def _record_created(self, assistant: Assistant) -> AssistantMirror:
        """Mirror an assistant Telnyx has just created, or delete it there again: an assistant the
        API never lists must not be left behind (and a retry would add another)."""
        mirrored = False
        try:
            mirror = self._record(assistant, None)
            mirrored = True
            return mirror
        finally:
            if not mirrored and assistant.id:
                self._undo_create(assistant.id)

    def _undo_create(self, assistant_id: str) -> None:
        try:
            with telnyx_errors("assistant"):
                self.telnyx.assistants.delete(assistant_id)
        except NotFound:
            pass
        except DialerError:
            # POST /assistants/sync adopts it later; say so loudly in the meantime.
            logger.exception("created assistant neither mirrored nor deleted", assistant_id=assistant_id)
        else:
            logger.warning(
                "created assistant deleted: its mirror could not be written", assistant_id=assistant_id
            )

    def _record(self, assistant: Assistant, previous: AssistantMirror | None) -> AssistantMirror:
        return self._record_dict(assistant.model_dump(mode="json", exclude_none=True), previous)

    def _record_dict(self, settings: dict[str, Any], previous: AssistantMirror | None) -> AssistantMirror:
        now = self._now()
        settings = {k: v for k, v in settings.items() if v is not None}
        mirror = AssistantMirror(
            tenant_id=self.tenant_id,
            assistant_id=str(settings.get("id") or (previous.assistant_id if previous else "")),
            name=settings.get("name"),
            version_id=settings.get("version_id"),
            version_name=settings.get("version_name"),
            texml_app_id=texml_app_id_of(settings),
            synced_at=now,
            created_at=previous.created_at if previous else now,
            settings=settings,
        )
        stored = mirrorable(settings)
        if stored is settings:
            self.table.put_mirror(mirror)
        else:
            logger.warning("assistant too large to mirror whole", assistant_id=mirror.assistant_id)
            self.table.put_mirror(dataclasses.replace(mirror, name=_short(mirror.name), settings=stored))
        return mirror  # whole: what Telnyx just said is what this answer shows

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_size(assistant: dict[str, Any]) -> None:
    """InvalidInput (422) if the assistant would not fit its mirror: refused before Telnyx is called."""
    size = settings_size(assistant)
    if size > MAX_ASSISTANT_BYTES:
        message = f"the assistant is {size} bytes as JSON; at most {MAX_ASSISTANT_BYTES} are accepted"
        raise InvalidInput(message, errors=[{"loc": ["body"], "msg": message, "type": "assistant_too_large"}])


def _short(name: str | None) -> str | None:
    return name[:255] if name else name


def _validated[M: BaseModel](model: type[M], body: dict[str, Any]) -> M:
    """``body`` as the client's strict model; a failure is a 422 naming the field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors: list[dict[str, object]] = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise InvalidInput("the assistant settings are not valid", errors=errors) from exc


def _validated_update(changes: dict[str, Any], requested: dict[str, Any]) -> UpdateAssistantRequest:
    """Validate merged changes. Keys that only Telnyx knows (newer than our models) and the caller
    did not send are not blamed on the caller: they are set aside, then echoed back unchanged, so
    re-sending a settings block never drops a setting Telnyx has."""
    upstream_only: dict[str, Any] = {}
    for _ in range(5):
        try:
            return UpdateAssistantRequest.model_validate(changes).echo_upstream(upstream_only)
        except ValidationError as exc:
            unknown = [
                e["loc"]
                for e in exc.errors()
                if e["type"] == "extra_forbidden" and not _present(requested, e["loc"])
            ]
            if len(unknown) != len(exc.errors()):
                return _validated(UpdateAssistantRequest, changes)  # raises with the caller's fields named
            for loc in unknown:
                _set(upstream_only, loc, _remove(changes, loc))
    return _validated(UpdateAssistantRequest, changes)


def _present(doc: Any, loc: tuple[Any, ...]) -> bool:
    for part in loc:
        if (isinstance(doc, dict) and part in doc) or (
            isinstance(doc, list) and isinstance(part, int) and part < len(doc)
        ):
            doc = doc[part]
        else:
            return False
    return True


def _remove(doc: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc[:-1]:
        doc = doc[part]
    return doc.pop(loc[-1])


def _set(doc: dict[str, Any], loc: tuple[Any, ...], value: Any) -> None:
    for part in loc[:-1]:
        doc = doc.setdefault(str(part), {})
    doc[str(loc[-1])] = value


def _fields(mirror: AssistantMirror) -> dict[str, Any]:
    return {name: getattr(mirror, name) for name in AssistantMirror.__slots__}


def _view(mirror: AssistantMirror, source: str) -> AssistantResponse:
    return AssistantResponse(
        id=mirror.assistant_id,
        name=mirror.name,
        version_id=mirror.version_id,
        version_name=mirror.version_name,
        texml_app_id=mirror.texml_app_id,
        synced_at=mirror.synced_at,
        deleted_upstream=mirror.deleted_upstream,
        source="telnyx" if source == "telnyx" else "mirror",
        settings=mirror.settings,
    )


def _version(assistant: Assistant) -> AssistantVersionResponse:
    settings = assistant.model_dump(mode="json", exclude_none=True)
    return AssistantVersionResponse(
        version_id=assistant.version_id,
        version_name=assistant.version_name,
        version_created_at=assistant.version_created_at,
        settings=settings,
    )
