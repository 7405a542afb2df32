# quizrelay against a model server reached over HTTP (Ollama in docker-compose.yml). The
# embedded model is not installed here: the image stays small and needs no compiler.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY service ./service
COPY agents_config ./agents_config
RUN pip install --no-cache-dir -c constraints.txt .
ENV QUIZRELAY_AGENTS_CONFIG_DIR=/app/agents_config \
    QUIZRELAY_DATABASE_URL=sqlite:////data/quizrelay.db
VOLUME /data
EXPOSE 8000
CMD ["quizrelay", "serve", "--host", "0.0.0.0", "--port", "8000"]
