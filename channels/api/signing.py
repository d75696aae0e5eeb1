"""The API channel signs bodies both ways with the hub's webhook signature (`X-Hub-Signature: sha256=<hex>`)."""

from __future__ import annotations

from hub.crypto import body_signature as signature
from hub.crypto import body_signature_valid as valid

HEADER = "x-hub-signature"

__all__ = ["HEADER", "signature", "valid"]
