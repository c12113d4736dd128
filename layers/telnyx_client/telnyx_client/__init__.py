"""Thin, typed client for the Telnyx REST API v2, plus webhook signatures and parsing.

No AWS imports and no import of the official ``telnyx`` SDK: this package is a Lambda layer in
the request path, so importing it must stay cheap. Import submodules directly
(``from telnyx_client.signature import verify``); this file imports nothing on purpose.
"""
