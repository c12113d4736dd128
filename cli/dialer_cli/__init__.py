"""``dialer``: the command line of telnyx-ai-dialer, a client of the management API only.

It runs on an operator's laptop or in CI against a local stack (``make dev``) or a deployed one;
it never imports the Lambda code (``layers/``): everything goes through the documented API.
"""
