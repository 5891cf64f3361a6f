FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app
# procps: pgrep for the beat service's health check (docker-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends procps && rm -rf /var/lib/apt/lists/*
COPY . .
# The release build that CI tests (scripts/release.py check builds a fresh venv
# with this same step): pip install . with no extras, then collectstatic with
# DEBUG off, so the static manifest the production storage reads exists.
RUN PIP_NO_CACHE_DIR=1 python scripts/release.py build
EXPOSE 8000
CMD ["gunicorn", "symbiosis.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
