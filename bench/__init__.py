"""Runnable benchmarks that print their figures (a package, so that ``bench/graphql.py``
is ``bench.graphql`` to type checkers, not the ``graphql`` library)."""
