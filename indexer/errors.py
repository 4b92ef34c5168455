"""Indexing errors: permanent ones fail the job at once, retryable ones are retried with backoff."""


class IndexingError(Exception):
    """Base class for errors raised by the indexing pipeline."""


class PermanentError(IndexingError):
    """Retrying cannot help (corrupt file, unsupported codec, missing weights)."""


class RetryableError(IndexingError):
    """A passing failure (resource busy, database or broker hiccup); the task is retried."""


class CorruptVideoError(PermanentError):
    """The file is not a readable video: empty, truncated, corrupt, or not a video at all."""
