# One image for all five claimflow services; the command picks the service:
#   uvicorn services.<name>.app:app --host 0.0.0.0 --port 8000
#   claimflow db provision            (one-shot: roles and schemas)
# Build: docker build -t claimflow:dev .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve the locked runtime set into /opt/venv -------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

RUN pip install "uv==0.13.9"

WORKDIR /src

# Dependencies first (cached while only the source changes).
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself, installed as a wheel (not editable) so the runtime stage needs no source tree.
COPY README.md ./
COPY shared ./shared
COPY services ./services
COPY cli ./cli
COPY sandbox ./sandbox
COPY console ./console
COPY analytics ./analytics
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: the venv, a non-root user, nothing else -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 claimflow \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin claimflow

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# An empty working directory: no .env file is ever read inside the image; configuration comes from the environment.
WORKDIR /app

USER 10001:10001
EXPOSE 8000

# No default service: compose and the Kubernetes manifests name one explicitly.
CMD ["claimflow", "--help"]
