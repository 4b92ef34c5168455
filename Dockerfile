# One image for the web app, the workers and the management commands (docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 app
WORKDIR /app
COPY requirements.txt .
# The CPU wheel by default; the GPU ingest workers (compose profile "gpu") build with a CUDA wheel index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX_URL} \
 && pip install --no-cache-dir -r requirements.txt
COPY . .
# Data (index snapshots, work files, thumbnails, uploads, weights) lives on named volumes under /data; the
# mount points exist here, owned by app, so Docker initialises each new volume writable by app.
ENV HL_VAR_DIR=/data PYTHONUNBUFFERED=1
RUN mkdir -p /data/media /data/uploads /data/index /data/work /data/weights && chown -R app:app /data
USER app
EXPOSE 8000
CMD ["gunicorn", "highlights.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
