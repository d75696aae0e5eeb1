"""The hub kernel. Channels hand it `InboundMessage`s through `ingest`; it stores, threads and announces."""

from hub.inbound import Identity, InboundAttachment, InboundMessage, IngestResult
from hub.outbound import DeliveryError, InboxConfig, OutboundMessage, SendResult

__all__ = [
    "DeliveryError",
    "Identity",
    "InboundAttachment",
    "InboundMessage",
    "InboxConfig",
    "IngestResult",
    "OutboundMessage",
    "SendResult",
]
