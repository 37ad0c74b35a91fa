"""The sealed log as auditors query it: signed tree heads and RFC 6962 proofs.

Hashes, signatures and keys are lowercase hex. The resolvers below are called
by the root ``Query`` fields (auditors and admins only; ``FORBIDDEN`` otherwise).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from analytics_graph.api import access
from analytics_graph.api.context import Info
from analytics_graph.api.errors import BadUserInput, ClientError
from analytics_graph.api.types.scalars import Position
from analytics_graph.audit import heads, proofs, tree


class NotSealed(ClientError):
    """Nothing of the log is sealed yet, so there is no head to show."""

    code = "NOT_SEALED"


@strawberry.type(description="A signed statement of the sealed log's Merkle tree (RFC 6962).")
class TreeHead:
    tree_size: Position = strawberry.field(description="How many events the tree covers.")
    root_hash: str = strawberry.field(description="The tree's root hash (SHA-256, hex).")
    sealed_at: datetime
    signature: str = strawberry.field(
        description="Ed25519 signature (hex) of the 53-byte head message of docs/audit.md."
    )
    public_key: str = strawberry.field(description="The Ed25519 public key (hex).")

    @classmethod
    def of(cls, head: heads.TreeHead) -> TreeHead:
        return cls(
            tree_size=Position(head.tree_size),
            root_hash=head.root_hash.hex(),
            sealed_at=head.sealed_at,
            signature=head.signature.hex(),
            public_key=head.public_key.hex(),
        )


@strawberry.type(description="That one event is a leaf of the tree of `treeSize` events.")
class InclusionProof:
    leaf_index: Position = strawberry.field(
        description="0-based index of the event among the sealed events, in log order."
    )
    tree_size: Position
    leaf_hash: str = strawberry.field(description="SHA-256(0x00 || the event's encoding), hex.")
    audit_path: list[str] = strawberry.field(description="RFC 6962 PATH, leaf side first.")


@strawberry.type(description="That the tree of `fromSize` events is a prefix of that of `toSize`.")
class ConsistencyProof:
    from_size: Position
    to_size: Position
    path: list[str] = strawberry.field(description="RFC 6962 PROOF, hex.")


def _hex(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


async def log_head(info: Info) -> TreeHead:
    access.log_reader(info.context.caller)
    info.context.beyond_read_models = True
    async with info.context.services.pool.acquire() as conn:
        head = await tree.latest_head(conn)
    if head is None:
        raise NotSealed("nothing of the log is sealed yet")
    return TreeHead.of(head)


async def tree_head(info: Info, size: int) -> TreeHead | None:
    access.log_reader(info.context.caller)
    info.context.beyond_read_models = True
    async with info.context.services.pool.acquire() as conn:
        head = await tree.head_at(conn, size)
    return None if head is None else TreeHead.of(head)


async def inclusion_proof(info: Info, position: int, tree_size: int | None) -> InclusionProof:
    access.log_reader(info.context.caller)
    info.context.beyond_read_models = True
    async with info.context.services.pool.acquire() as conn:
        try:
            proof = await proofs.inclusion(conn, position, tree_size)
        except proofs.ProofError as exc:
            argument = "treeSize" if str(exc).startswith("treeSize") else "position"
            raise BadUserInput(argument, str(exc)) from None
    return InclusionProof(
        leaf_index=Position(proof.leaf_index),
        tree_size=Position(proof.tree_size),
        leaf_hash=proof.leaf_hash.hex(),
        audit_path=_hex(proof.audit_path),
    )


async def consistency_proof(info: Info, from_size: int, to_size: int | None) -> ConsistencyProof:
    access.log_reader(info.context.caller)
    info.context.beyond_read_models = True
    async with info.context.services.pool.acquire() as conn:
        try:
            proof = await proofs.consistency(conn, from_size, to_size)
        except proofs.ProofError as exc:
            argument = "toSize" if str(exc).startswith("toSize") else "fromSize"
            raise BadUserInput(argument, str(exc)) from None
    return ConsistencyProof(
        from_size=Position(proof.from_size),
        to_size=Position(proof.to_size),
        path=_hex(proof.path),
    )
