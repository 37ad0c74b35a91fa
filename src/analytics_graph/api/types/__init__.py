"""The Strawberry types of the GraphQL contract (DESIGN.md; /shared/contract.graphql)."""
