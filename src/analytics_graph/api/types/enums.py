"""The contract's enums: the classes of the one vocabulary (``domain/vocabulary.py``),
registered with Strawberry. GraphQL values are the names, which are also the ingest
format's and the log's. (Registering sets Strawberry's definition on the domain's
classes; the domain itself never imports Strawberry.)"""

from __future__ import annotations

import strawberry

from analytics_graph.domain.vocabulary import AccountType, AgeRange, Gender, TrafficSource

strawberry.enum(
    AccountType, description="PERSONAL accounts have no analytics; CREATOR and BUSINESS are Pro."
)
strawberry.enum(TrafficSource, description="Where a view came from.")
strawberry.enum(Gender)
strawberry.enum(AgeRange)

__all__ = ["AccountType", "AgeRange", "Gender", "TrafficSource"]
