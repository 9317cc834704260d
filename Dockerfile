# tic-alert as a container: `tic-alert run` (the poller and the bot in one process), the SQLite
# database on a volume, /healthz on port 9108 for the HEALTHCHECK. The token comes from the
# environment at run time (compose.yaml: an env file), never from the image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY config ./config
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/tic --shell /usr/sbin/nologin tic \
    && mkdir -p /var/lib/tic-alert \
    && chown tic:tic /var/lib/tic-alert
COPY --from=build /install /usr/local
ENV TIC_ALERT_DB=/var/lib/tic-alert/tic-alert.db \
    TIC_ALERT_HTTP=0.0.0.0:9108 \
    TIC_ALERT_LOG_FORMAT=json \
    MPLBACKEND=Agg \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/tic-alert"]
USER 10001:10001
WORKDIR /home/tic
EXPOSE 9108
# /healthz answers 503 when the poller's or the bot's loop stalls; the start period covers the
# first fetch of the release files
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ['TIC_ALERT_HTTP'].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tic-alert"]
CMD ["run"]
