# The production image: one image for web, worker and beat (deploy/entrypoint.sh picks which).
# Build: docker compose build   (or: docker build -t peerlearning .)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint renders the submission PDFs with Pango and HarfBuzz, and needs a font to draw with.
# tesseract-ocr proposes the rectangles of the pixel review (anonymizer/ocr.py).
# wamerican is the English word list of the free-text detector (anonymizer/engine/vocabulary.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core tesseract-ocr \
        wamerican \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 peerlearning \
    && useradd --system --uid 10001 --gid peerlearning --create-home \
        --shell /usr/sbin/nologin peerlearning

WORKDIR /app

# The runtime dependencies of pyproject.toml (no dev extras), in their own layer so that a code
# change does not reinstall them. The code itself runs from /app rather than site-packages:
# settings.py finds templates/, static/ and var/ beside the packages.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

ENV PYTHONPATH=/app \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media \
    GUNICORN_BIND=0.0.0.0:8000

# Hashed, compressed static files for WhiteNoise, made once here. collectstatic needs settings,
# and settings need a SECRET_KEY: a throwaway one, not kept in the image's environment.
ARG BUILD_ONLY_SECRET_KEY=collectstatic-at-build-time-only
RUN SECRET_KEY="$BUILD_ONLY_SECRET_KEY" DEBUG=0 python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /app/var \
    && mkdir -p /app/var /app/media \
    && chown peerlearning:peerlearning /app/var /app/media \
    && chmod 755 /app/deploy/*.sh /app/deploy/postgres-init/*.sh

USER peerlearning
EXPOSE 8000
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
