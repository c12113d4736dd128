"""Request and response models of the management API (issue 5).

Assistant settings and tools are the Telnyx client's own strict models (one definition of the
wire, not two); this module only adds what our API says on top of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialer.domain.assistants import MAX_ASSISTANT_BYTES
from dialer.domain.caller_id_health import RestedBy
from telnyx_client.models.assistant_settings import EnabledFeature
from telnyx_client.models.assistants import CreateAssistantRequest
from telnyx_client.models.tools import AssistantTool

# Ids that reach a path parameter: Telnyx ids (``assistant-<uuid>``, numeric strings, uuids) and ours.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ----------------------------------------------------------------------------------
class ErrorResponse(BaseModel):
    """The body of every non-422 error."""

    error: str
    message: str


class GatewayErrorResponse(BaseModel):
    """API Gateway's own error body (missing or rejected credentials)."""

    message: str


# --- assistants --------------------------------------------------------------------------------
# Limits that keep an assistant inside its mirror (see MAX_ASSISTANT_BYTES), checked before Telnyx
# is called. Telnyx documents none; these are generous for a phone agent's prompt and greeting.
AssistantName = Annotated[
    str,
    Field(
        min_length=1, max_length=255, pattern=r"\S", description="Not empty or blank; at most 255 characters."
    ),
]
Instructions = Annotated[
    str, Field(max_length=100_000, description="The system prompt; at most 100,000 characters.")
]
Description = Annotated[str, Field(max_length=2_000)]
Greeting = Annotated[str, Field(max_length=5_000)]
DynamicVariables = Annotated[
    dict[Annotated[str, Field(max_length=128)], Any],
    Field(max_length=100, description="At most 100 variables."),
]
_SIZE_NOTE = f"The whole assistant, as JSON, is at most {MAX_ASSISTANT_BYTES // 1024} KiB (UTF-8)."


class AssistantCreateRequest(CreateAssistantRequest):
    __doc__ = f"""A Telnyx ``CreateAssistantRequest``, plus whether to add this deployment's tools.

    Left out, ``dynamic_variables_webhook_url``, ``dynamic_variables_webhook_timeout_ms``,
    ``enabled_features`` and ``privacy_settings.data_retention`` get this deployment's defaults.
    {_SIZE_NOTE}
    """

    name: AssistantName
    instructions: Instructions
    description: Description | None = None
    greeting: Greeting | None = None
    dynamic_variables: DynamicVariables | None = None

    deployment_tools: bool = Field(
        default=True,
        description="Add this deployment's in-call tools (opt_out, set_disposition, ...).",
    )


SettingsBlock = dict[str, Any]


class AssistantPatchRequest(_Strict):
    __doc__ = f"""Fields to change. Settings objects are merged into the current ones (keys you leave out keep
    their values); the merged result must be valid for Telnyx. Lists (``tools``, ``tags``…) are replaced.
    ``name`` and ``instructions`` cannot be null (an assistant always has both); ``null`` clears any
    other field. {_SIZE_NOTE}"""

    # Typed str with a None default on purpose: left out means unchanged, while an explicit null
    # fails validation (a 422) and the document shows them as non-nullable strings.
    name: AssistantName = None  # type: ignore[assignment]
    instructions: Instructions = None  # type: ignore[assignment]
    model: str | None = None
    description: Description | None = None
    greeting: Greeting | None = None
    tools: list[AssistantTool] | None = None
    tool_ids: list[str] | None = None
    voice_settings: SettingsBlock | None = None
    transcription: SettingsBlock | None = None
    telephony_settings: SettingsBlock | None = None
    messaging_settings: SettingsBlock | None = None
    enabled_features: list[EnabledFeature] | None = None
    dynamic_variables: DynamicVariables | None = None
    dynamic_variables_webhook_url: str | None = None
    dynamic_variables_webhook_timeout_ms: Annotated[int, Field(ge=1, le=10000)] | None = None
    insight_settings: SettingsBlock | None = None
    privacy_settings: SettingsBlock | None = None
    interruption_settings: SettingsBlock | None = None
    external_llm: SettingsBlock | None = None
    fallback_config: SettingsBlock | None = None
    llm_api_key_ref: str | None = None
    observability_settings: SettingsBlock | None = None
    post_conversation_settings: SettingsBlock | None = None
    tags: list[str] | None = None
    version_name: Annotated[str, Field(max_length=50)] | None = None
    promote_to_main: bool = Field(default=True, description="False stages the change as a new version.")


class AssistantResponse(BaseModel):
    """An assistant: our mirror's bookkeeping plus the settings Telnyx reported."""

    id: str
    name: str | None = None
    version_id: str | None = None
    version_name: str | None = None
    texml_app_id: str | None = None
    synced_at: str
    deleted_upstream: bool = False
    source: Literal["telnyx", "mirror"] = Field(description="Where this answer came from.")
    settings: dict[str, Any] = Field(description="The assistant as Telnyx returned it.")


class AssistantListResponse(BaseModel):
    """A page of assistants from the mirror (run POST /assistants/sync to refresh it). An assistant
    too large to mirror whole (made outside this API) lists without its largest settings, named in
    ``settings.omitted_from_mirror``; GET /assistants/{assistant_id} answers it whole."""

    data: list[AssistantResponse]
    next_cursor: str | None = None


class AssistantVersionResponse(BaseModel):
    """One version of an assistant."""

    version_id: str | None = None
    version_name: str | None = None
    version_created_at: str | None = None
    settings: dict[str, Any]


class AssistantVersionListResponse(BaseModel):
    """The versions Telnyx keeps of an assistant, newest first."""

    data: list[AssistantVersionResponse]


class SyncResponse(BaseModel):
    """What a sync did to the mirror."""

    total_upstream: int
    created: int
    updated: int
    marked_deleted: int


# --- tenants and API keys ---------------------------------------------------------------------
class TenantResponse(BaseModel):
    """The calling tenant."""

    tenant_id: str
    name: str
    status: str
    auth_method: str
    telnyx_configured: bool


InsightField = Literal["disposition", "callback_at", "appointment_at", "summary", "sentiment"]


class InsightGroupRequest(_Strict):
    """Which insight group the tenant's calls report to. Empty: this deployment's default group
    (created on Telnyx if missing, idempotent). ``group_id``: the tenant's own group, with
    ``fields`` mapping its insight names to ours (names that already are ours need no entry)."""

    group_id: Annotated[str, Field(pattern=ID_PATTERN, max_length=128)] | None = None
    fields: dict[Annotated[str, Field(min_length=1, max_length=128)], InsightField] = Field(
        default_factory=dict, max_length=50
    )


class InsightGroupResponse(BaseModel):
    """The tenant's insight group and how its insights are read."""

    group_id: str
    source: Literal["default", "custom"]
    insights: dict[str, str] = Field(description="insight id → insight name")
    fields: dict[str, str] = Field(description="the tenant's insight name → our field")
    assistants_attached: list[str] = Field(
        default_factory=list, description="assistants this request pointed at the group"
    )


class ApiKeyCreateRequest(_Strict):
    """A new API key's name."""

    name: Annotated[str, Field(min_length=1, max_length=64)]


class ApiKeyResponse(BaseModel):
    """An API key (never its secret)."""

    key_id: str
    name: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None


class ApiKeyCreatedResponse(ApiKeyResponse):
    """A new API key; ``api_key`` is shown this once and cannot be recovered."""

    api_key: str


class ApiKeyListResponse(BaseModel):
    """The tenant's API keys."""

    data: list[ApiKeyResponse]


# --- numbers and caller IDs ----------------------------------------------------------------------
class NumberResponse(BaseModel):
    """A phone number of the tenant's Telnyx account, with its assignment here."""

    id: str
    phone_number: str | None = None
    status: str | None = None
    connection_id: str | None = None
    assistant_id: str | None = None


class NumberListResponse(BaseModel):
    """The tenant's Telnyx numbers."""

    data: list[NumberResponse]


class NumberAssignRequest(_Strict):
    """Point a number at an assistant's TeXML app."""

    assistant_id: Annotated[str, Field(pattern=ID_PATTERN)]
    force: bool = Field(default=False, description="Take the number even if it is routed elsewhere.")


class CallerIdCreateRequest(_Strict):
    """A caller ID for campaigns."""

    phone_number: Annotated[str, Field(pattern=E164_PATTERN)]
    daily_cap: Annotated[int, Field(ge=1, le=100_000)] = 100
    enabled: bool = True


class CallerIdPatchRequest(_Strict):
    """Change a caller ID's cap or switch it on or off."""

    daily_cap: Annotated[int, Field(ge=1, le=100_000)] | None = None
    enabled: bool | None = None


class CallerIdHealthView(BaseModel):
    """How a caller ID's calls are going (issue 23: caller-ID health)."""

    state: Literal["active", "rested", "disabled"] = Field(
        description="rested: no dial uses it until rested_until; disabled: switched off by an operator."
    )
    calls: int = Field(description="Settled calls in its current window (reset when it is rested).")
    answer_rate: float | None = Field(description="Share of those calls a person answered.")
    short_share: float | None = Field(description="Share of the answered calls that were very short.")
    rested_until: str | None = None
    rest_reason: str | None = None
    rested_by: RestedBy | None = None
    rested_at: str | None = None


class CallerIdResponse(BaseModel):
    """A caller ID of the pool."""

    id: str
    phone_number: str
    daily_cap: int
    enabled: bool
    created_at: str
    updated_at: str
    health: CallerIdHealthView


class CallerIdRestRequest(_Strict):
    """Rest a caller ID: no dial uses it for ``hours`` (default: the tenant's ``rest_hours``)."""

    reason: Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
    hours: Annotated[int, Field(ge=1, le=720)] | None = None


class CallerIdListResponse(BaseModel):
    """A page of the caller-ID pool."""

    data: list[CallerIdResponse]
    next_cursor: str | None = None
