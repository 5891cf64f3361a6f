FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY symbiosis ./symbiosis
COPY marketplace ./marketplace
COPY optimizer ./optimizer
COPY dashboard ./dashboard
RUN apt-get update && apt-get install -y --no-install-recommends procps && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=True python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "symbiosis.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
