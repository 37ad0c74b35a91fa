# analytics-graph: the service on a slim Python base, as a non-root user.
# Without ANALYTICS_GRAPH_DATABASE_URL it runs its embedded PostgreSQL in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ANALYTICS_GRAPH_DATA_DIR=/data \
    ANALYTICS_GRAPH_MODE=production

RUN useradd --create-home --uid 10001 app && mkdir /data && chown app:app /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY projections ./projections
RUN pip install .

USER app
VOLUME /data
EXPOSE 8000
# Liveness: the process serves and its database answers (/readyz is for load
# balancers: it also fails while projections lag). /metrics answers loopback
# clients; set ANALYTICS_GRAPH_METRICS_TOKEN to scrape from outside.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# SIGTERM drains in-flight requests within ANALYTICS_GRAPH_SHUTDOWN_GRACE_SECONDS (20)
# and exits 0; give `docker stop` more than that (docker stop -t 30). A node that takes
# a firehose of POST /ingest: -e ANALYTICS_GRAPH_INGEST_PROCESSES=<cores> (ingest
# workers, children of this process: they end with it).
STOPSIGNAL SIGTERM
CMD ["analytics-graph", "serve", "--host", "0.0.0.0", "--port", "8000"]
