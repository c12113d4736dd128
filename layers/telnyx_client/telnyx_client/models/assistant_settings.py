"""Settings blocks of an AI assistant (``CreateAssistantRequest`` sub-objects), strict, July spec.

Enums are the July spec's (WIRE §9): Prism, our conformance peer, rejects SDK-only values such as
``soniox/stt-rt-v5``, so they are not offered here until the spec catches up.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from telnyx_client.models._base import RequestModel, TaggedRequestModel

TranscriptionModel = Literal[
    "deepgram/flux",
    "deepgram/nova-3",
    "deepgram/nova-2",
    "azure/fast",
    "assemblyai/universal-streaming",
    "xai/grok-stt",
    "soniox/stt-rt-v4",
    "nvidia/parakeet-v3",
    "distil-whisper/distil-large-v2",
    "openai/whisper-large-v3-turbo",
]
EnabledFeature = Literal["telephony", "messaging"]


# --- voice ---------------------------------------------------------------------------------
class PredefinedBackgroundAudio(TaggedRequestModel):
    """Built-in background audio (``silence`` or ``office``)."""

    type: Literal["predefined_media"] = "predefined_media"
    value: Literal["silence", "office"] = "silence"
    volume: Annotated[float, Field(ge=0.1, le=1.0)] | None = None


class MediaUrlBackgroundAudio(TaggedRequestModel):
    """Background audio fetched from a URL."""

    type: Literal["media_url"] = "media_url"
    value: str


class MediaNameBackgroundAudio(TaggedRequestModel):
    """Background audio from a media file uploaded to Telnyx."""

    type: Literal["media_name"] = "media_name"
    value: str


BackgroundAudio = Annotated[
    PredefinedBackgroundAudio | MediaUrlBackgroundAudio | MediaNameBackgroundAudio,
    Field(discriminator="type"),
]


class VoiceSettings(RequestModel):
    """Text-to-speech voice (``Telnyx.NaturalHD.<id>``, ``AWS.Polly.<Voice>``, ElevenLabs via ``api_key_ref``)."""

    voice: str
    voice_speed: float | None = None
    api_key_ref: str | None = None
    background_audio: BackgroundAudio | None = None
    expressive_mode: bool | None = None
    language_boost: str | None = None
    similarity_boost: float | None = None
    speed: float | None = None
    style: float | None = None
    temperature: float | None = None
    use_speaker_boost: bool | None = None


# --- transcription ---------------------------------------------------------------------------
class TranscriptionSettingsConfig(RequestModel):
    """Speech-to-text tuning (end-of-turn detection, formatting)."""

    eager_eot_threshold: Annotated[float, Field(ge=0.3, le=0.9)] | None = None
    enable_endpoint_detection: bool | None = None
    end_of_turn_confidence_threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    eot_threshold: Annotated[float, Field(ge=0.5, le=0.9)] | None = None
    eot_timeout_ms: Annotated[int, Field(ge=500, le=10000)] | None = None
    interim_results: bool | None = None
    keyterm: str | None = None
    max_endpoint_delay_ms: Annotated[int, Field(ge=500, le=3000)] | None = None
    max_turn_silence: Annotated[int, Field(ge=100, le=5000)] | None = None
    min_turn_silence: Annotated[int, Field(ge=100, le=5000)] | None = None
    numerals: bool | None = None
    smart_format: bool | None = None


class TranscriptionSettings(RequestModel):
    """Speech-to-text model and language."""

    model: TranscriptionModel | None = None
    language: str | None = None
    region: str | None = None
    api_key_ref: str | None = None
    settings: TranscriptionSettingsConfig | None = None


# --- telephony -------------------------------------------------------------------------------
class NoiseSuppressionConfig(RequestModel):
    """Noise suppression tuning."""

    attenuation_limit: Annotated[int, Field(ge=0, le=100)] | None = None
    mode: Literal["advanced"] | None = None


class RecordingSettings(RequestModel):
    """Call recording of assistant conversations."""

    enabled: bool | None = None
    channels: Literal["single", "dual"] | None = None
    format: Literal["wav", "mp3"] | None = None
    stop_on_conversation_end: bool | None = None


class VoicemailMessage(RequestModel):
    """What to leave on a voicemail: a fixed ``message`` or a ``prompt`` for the model."""

    type: Literal["prompt", "message"] | None = None
    message: str | None = None
    prompt: str | None = None


class OnVoicemailDetected(RequestModel):
    """The assistant's action when AMD reports a machine."""

    action: Literal["stop_assistant", "leave_message_and_stop_assistant", "continue_assistant"] | None = None
    voicemail_message: VoicemailMessage | None = None


class VoicemailDetection(RequestModel):
    """Voicemail handling; applies only when AMD is enabled on the dial (WIRE §3.2)."""

    on_voicemail_detected: OnVoicemailDetected | None = None


class TelephonySettings(RequestModel):
    """Phone-call behaviour of the assistant."""

    default_texml_app_id: str | None = None
    time_limit_secs: Annotated[int, Field(ge=30, le=14400)] | None = None
    user_idle_timeout_secs: Annotated[int, Field(ge=10, le=14400)] | None = None
    user_idle_reply_secs: Annotated[int, Field(ge=0)] | None = None
    supports_unauthenticated_web_calls: bool | None = None
    noise_suppression: Literal["krisp", "deepfilternet", "disabled"] | None = None
    noise_suppression_config: NoiseSuppressionConfig | None = None
    recording_settings: RecordingSettings | None = None
    voicemail_detection: VoicemailDetection | None = None


# --- insights, privacy, interruption, messaging ------------------------------------------------
class InsightSettings(RequestModel):
    """Which insight group runs after each conversation."""

    insight_group_id: str | None = None


class PrivacySettings(RequestModel):
    """Data retention of conversations."""

    data_retention: bool | None = None


class TranscriptionEndpointingPlan(RequestModel):
    """How long to wait after a transcript ends before the assistant speaks."""

    on_punctuation_seconds: float | None = None
    on_no_punctuation_seconds: float | None = None
    on_number_seconds: float | None = None


class StartSpeakingPlan(RequestModel):
    """When the assistant starts speaking."""

    wait_seconds: Annotated[float, Field(ge=0)] | None = None
    transcription_endpointing_plan: TranscriptionEndpointingPlan | None = None


class InterruptionSettings(RequestModel):
    """Whether and how the caller can interrupt the assistant."""

    enable: bool | None = None
    disable_greeting_interruption: bool | None = None
    start_speaking_plan: StartSpeakingPlan | None = None


class MessagingSettings(RequestModel):
    """SMS behaviour of the assistant."""

    default_messaging_profile_id: str | None = None
    delivery_status_webhook_url: str | None = None
    conversation_inactivity_minutes: Annotated[int, Field(ge=1, le=10_000_000)] | None = None


class AssistantIntegration(RequestModel):
    """An integration the assistant may use."""

    integration_id: str
    allowed_list: list[str] | None = None


class AssistantMCPServer(RequestModel):
    """An MCP server the assistant may use."""

    id: str
    allowed_tools: list[str] | None = None


class ExternalLLM(RequestModel):
    """A bring-your-own LLM endpoint."""

    model: str
    base_url: str
    authentication_method: Literal["token", "certificate"] | None = None
    certificate_ref: str | None = None
    forward_metadata: bool | None = None
    llm_api_key_ref: str | None = None
    token_retrieval_url: str | None = None


class FallbackConfig(RequestModel):
    """The model to fall back to when the primary fails."""

    external_llm: ExternalLLM | None = None
    llm_api_key_ref: str | None = None
    model: str | None = None


class ObservabilitySettings(RequestModel):
    """Prompt observability (Langfuse-style) settings."""

    host: str | None = None
    prompt_label: str | None = None
    prompt_name: str | None = None
    prompt_sync: Literal["enabled", "disabled"] | None = None
    prompt_version: Annotated[int, Field(ge=1)] | None = None
    public_key_ref: str | None = None
    secret_key_ref: str | None = None
    status: Literal["enabled", "disabled"] | None = None


class PostConversationSettings(RequestModel):
    """Post-conversation processing."""

    enabled: bool | None = None


# Not modelled field by field (large, rarely used by this product); sent as given.
ConversationFlow = dict[str, Any]
WidgetSettings = dict[str, Any]
