# syntax=docker/dockerfile:1
# One image for the four PMO services and their commands (see docs/platform.md).
#   docker build -t pmo-backend:local .
#   docker run --rm pmo-backend:local help
# Every third-party package comes from a binary wheel pinned in constraints.txt, so the build
# stage needs no compiler and the final stage carries only the virtual environment.

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /src
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir "pip==26.3" "setuptools==84.2.1" "wheel==0.48.0"

COPY constraints.txt ./
COPY libs/events libs/events
COPY libs/servicekit libs/servicekit
COPY services services

# The local packages are named by path, so pip never looks them up on an index.
RUN pip install --no-cache-dir --no-build-isolation --only-binary=:all: -c constraints.txt \
        ./libs/events ./libs/servicekit \
        ./services/intake ./services/portfolio ./services/resourcing ./services/reporting \
 && pip uninstall --yes setuptools wheel \
 && pip check


FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="pmo-backend" \
      org.opencontainers.image.description="PMO backend: intake, portfolio, resourcing and reporting services"

# A fixed numeric id, so Kubernetes can check runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 pmo \
 && useradd --system --no-log-init --uid 10001 --gid pmo --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin pmo

COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/pmo-entrypoint
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/pmo-healthcheck.py

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PMO_ENV=production \
    PMO_HTTP_HOST=0.0.0.0 \
    PMO_DATA_DIR=/tmp/pmo \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /tmp
USER 10001:10001
EXPOSE 8001 8002 8003 8004
STOPSIGNAL SIGTERM
# Liveness of the service this container runs (a one-shot command counts as healthy); compose and
# Kubernetes probe readiness themselves.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/pmo-healthcheck.py"]

ENTRYPOINT ["pmo-entrypoint"]
CMD ["help"]
