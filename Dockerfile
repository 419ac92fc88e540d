# Parley: daphne serving Django + Channels. Static files are collected at build
# time and served by whitenoise; PostgreSQL and Redis come from the environment
# (see docker-compose.yml and the README's configuration table).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PARLEY_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin parley

WORKDIR /app

# Dependencies first, so that code changes reuse this layer. The project itself
# ships no packages (it runs from /app); installing it installs the locked deps.
COPY pyproject.toml requirements.lock README.md ./
RUN pip install -c requirements.lock .

COPY . .

# The code stays root-owned and read-only for the app; only var/ is writable.
# collectstatic needs settings that import, not secrets: the key is thrown away.
RUN DJANGO_DEBUG=0 \
        SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown parley:parley /app/var \
    && chmod +x deploy/entrypoint.sh

USER parley:parley
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
