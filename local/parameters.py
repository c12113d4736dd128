"""The product's template parameters on a local stack that calls (``make dev``, the demo, the dialing
tests). No imports: both the tools venv (``make dev``) and the test venv read it."""

# The init webhook is provisioned, as docs/deploy.md advises for calling: on a busy machine a cold
# start takes ~3 s, Telnyx's whole timeout, and the first calls of a burst would go out without
# their variables.
LOCAL_PARAMETERS = ("Stage=local", "InitProvisionedConcurrency=4")
