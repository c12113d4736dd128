"""Sub-APIs of :class:`telnyx_client.client.TelnyxClient`, one module per area (imported on first use)."""
