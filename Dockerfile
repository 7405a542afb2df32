# quizrelay against a model server reached over HTTP (Ollama in docker-compose.yml). The
# embedded model is not installed here: the image stays small.
#
# The image runs what `pip install quizrelay` installs, not the checkout: the first stage builds
# the quizrelay wheel and a wheel of every dependency at the versions in constraints.txt (with a
# compiler: pycosat, which reasoning-gym needs, is published as source only); the second installs
# from those wheels alone, with no compiler, no index and no source tree. The agent definitions
# ship inside the package (quizrelay/agents_config/; `quizrelay config export DIR` writes a copy
# to edit, read with QUIZRELAY_AGENTS_CONFIG_DIR).
# RUN --mount needs BuildKit (the default builder since Docker 23, and in `docker compose`).
# tests/packaging/test_docker.py runs these steps in a virtualenv, as far as that can go.
FROM python:3.13-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY service ./service
COPY agents_config ./agents_config
RUN pip wheel --no-cache-dir -c constraints.txt -w /wheels .

FROM python:3.13-slim
ENV PIP_ROOT_USER_ACTION=ignore \
    PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels quizrelay
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin quizrelay \
    && mkdir /data && chown quizrelay /data
USER quizrelay
WORKDIR /data
ENV QUIZRELAY_DATABASE_URL=sqlite:////data/quizrelay.db
VOLUME /data
EXPOSE 8000
CMD ["quizrelay", "serve", "--host", "0.0.0.0", "--port", "8000"]
