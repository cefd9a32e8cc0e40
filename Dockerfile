# syntax=docker/dockerfile:1
# One image for every role (the last stage, the default target): `serve` (default), `worker`, `scheduler`, `migrate`
# (docker run IMAGE worker). Three stages: the frontend build (node), the Python install
# (from the lock file), and a slim runtime without compilers, node or pip caches.

FROM node:20-bookworm-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS python
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv
WORKDIR /build
RUN python -m venv "$VIRTUAL_ENV"
# Dependencies first, from the lock: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN "$VIRTUAL_ENV/bin/pip" install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY src/ src/
RUN "$VIRTUAL_ENV/bin/pip" install --no-cache-dir --no-deps .

# The `web` target (compose.yaml, the Kubernetes web Deployment): unprivileged nginx serving the
# built frontend and proxying the API (deploy/nginx/web.conf).
FROM nginxinc/nginx-unprivileged:1.27-alpine AS web
COPY --from=frontend /build/frontend/dist /usr/share/nginx/html
COPY deploy/nginx/web.conf /etc/nginx/stockdash.conf
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]
CMD ["nginx", "-c", "/etc/nginx/stockdash.conf"]

# The default target: the Python roles.
FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="stockdash" \
      org.opencontainers.image.description="Self-hostable AI stock dashboard (serve, worker, scheduler, migrate)" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 stockdash \
    && useradd --system --uid 10001 --gid stockdash --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin stockdash \
    && mkdir -p /app /data \
    && chown stockdash:stockdash /data
COPY --from=python /opt/venv /opt/venv
COPY --from=frontend /build/frontend/dist /app/frontend
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    FRONTEND_DIST=/app/frontend \
    LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
# The API's liveness route; worker and scheduler containers override or disable this check
# (compose.yaml, the Kubernetes probes), they serve no HTTP.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["stockdash"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
