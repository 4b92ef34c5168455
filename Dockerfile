# One image for the web app and the workers.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt gunicorn==23.0.0
COPY . .
ENV HL_VAR_DIR=/data
CMD ["gunicorn", "highlights.wsgi", "--bind", "0.0.0.0:8000"]
