FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY opsknowledge ./opsknowledge
COPY runbooks ./runbooks
COPY incidents ./incidents
COPY releases ./releases
COPY templates ./templates
COPY static ./static
COPY manage.py ./
# collectstatic at build time: hashed, compressed files in /app/var/static (DEBUG=1 only
# lets settings load without the SECRET_KEY, which the image must not contain).
RUN pip install . && DEBUG=1 python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /app opsknowledge \
    && mkdir -p /app/var && chown opsknowledge /app/var
USER opsknowledge

EXPOSE 8000
# gunicorn only: several containers of this image serve one database, and migrations must
# run once, before them (docker-compose.yml's `migrate`; alone:
# `docker run --rm <image> python manage.py migrate --noinput` first). WhiteNoise serves the
# static files collected above.
CMD ["gunicorn", "opsknowledge.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
