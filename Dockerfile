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

# jemalloc instead of pymalloc + glibc: pymalloc's arenas fragment over a catch-up and are never given back
# (portfolio 216 MB after its share of a 200,000-event history, 168 MB under jemalloc: docs/performance.md,
# "Time travel, propagation and memory"). A runtime library, no build tooling; the unversioned link keeps
# LD_PRELOAD the same on every architecture. The version follows the base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2 \
 && test -r /usr/local/lib/libjemalloc.so.2

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
    MPLCONFIGDIR=/tmp/matplotlib \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    PYTHONMALLOC=malloc \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0

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
