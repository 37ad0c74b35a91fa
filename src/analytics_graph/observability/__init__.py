"""What an operator sees: Prometheus metrics, structured logs, health and readiness probes.

``metrics`` holds the process's counters and histograms; ``logs`` configures
logging (JSON lines in production); ``middleware`` gives every request an id,
times it and logs it; ``probes`` serves ``/healthz``, ``/readyz`` and ``/metrics``.
"""
