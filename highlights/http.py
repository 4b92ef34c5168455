"""HTTP helpers: serving video files with byte-range requests (RFC 9110 §14), so players seek at once.

Django's ``FileResponse`` always sends the whole file; browsers seeking in a ``<video>`` ask for
``Range: bytes=START-END`` and expect ``206 Partial Content`` with only those bytes.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 256 * 1024


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte span ``(first, last)`` a single-range ``Range`` header asks for.

    Args:
        header: the header value, e.g. ``"bytes=0-1023"``, ``"bytes=500-"`` or ``"bytes=-500"``.
        size: the file's size in bytes.

    Returns:
        The span clipped to the file, or None when the header is not a single byte range
        (the caller then sends the whole file).

    Raises:
        ValueError: the range starts beyond the end of the file (answer 416).
    """
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        if n == 0:
            raise ValueError("empty suffix range")
        return max(size - n, 0), size - 1
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if first >= size or last < first:
        raise ValueError(f"range {first}-{last} outside 0-{size - 1}")
    return first, min(last, size - 1)


def _chunks(path: Path, first: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(first)
        while length > 0:
            data = f.read(min(CHUNK_BYTES, length))
            if not data:
                return
            length -= len(data)
            yield data


def ranged_file_response(request: HttpRequest, path: Path, *, download_name: str | None = None) -> HttpResponse:
    """Serve ``path`` whole (200) or the byte range the request asks for (206), or 416 for a bad range.

    Args:
        request: the request (its ``Range`` header is honoured).
        path: the file to serve; it must exist.
        download_name: when set, the browser saves the file under this name (``Content-Disposition: attachment``).
    """
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        span = parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if span is None:
        response: HttpResponse = FileResponse(
            path.open("rb"), content_type=content_type, as_attachment=bool(download_name), filename=download_name or ""
        )
    else:
        first, last = span
        response = StreamingHttpResponse(_chunks(path, first, last - first + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        if download_name:
            response["Content-Disposition"] = content_disposition_header(True, download_name)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["Last-Modified"] = http_date(path.stat().st_mtime)
    return response
