"""Realtime fan-out by topic: `inbox:{id}`, `conversation:{id}`, `agent:{id}`, `presence`.

One `Broker` per process keeps the local subscriptions; its backend carries messages between processes
(Redis pub/sub) or just within this one (memory). Payloads are bytes (JSON), encoded once per event no
matter how many sockets receive them.
"""

from hub.realtime.broker import Broker, Subscription, get_broker, set_broker

__all__ = ["Broker", "Subscription", "get_broker", "set_broker"]
