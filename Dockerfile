# One image for every service: `python -m services.<name>` picks which one runs.
FROM python:3.11.13-slim-bookworm AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY shared ./shared
COPY services ./services
COPY deploy/__init__.py deploy/embedded.py deploy/provision.py deploy/backup.py ./deploy/
COPY data ./data
COPY docs/schemas ./docs/schemas
RUN uv sync --locked --no-dev

FROM python:3.11.13-slim-bookworm
# DejaVu: the font the CLI prints certificates' PDF with (Vietnamese letters)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 antq
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 ANTQ_HTTP_HOST=0.0.0.0 ANTQ_ENV=production
USER antq
# Stop timeout in compose (30 s) is longer than ANTQ_SHUTDOWN_GRACE_SECONDS (10 s): SIGTERM drains first.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "services.registry"]
