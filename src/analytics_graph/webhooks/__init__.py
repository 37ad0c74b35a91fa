"""Webhooks (Standard Webhooks): endpoints, the dispatcher that follows the log and
writes deliveries, and the sender that delivers them. See docs/webhooks.md."""

from analytics_graph.webhooks.addresses import UnsafeUrl, UrlPolicy
from analytics_graph.webhooks.deliveries import Delivery, Status
from analytics_graph.webhooks.endpoints import Endpoint, Topic
from analytics_graph.webhooks.service import WebhookService, policy

__all__ = [
    "Delivery",
    "Endpoint",
    "Status",
    "Topic",
    "UnsafeUrl",
    "UrlPolicy",
    "WebhookService",
    "policy",
]
