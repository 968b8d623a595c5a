"""Gzip for the app's JSON answers (callback results, layouts), when the client accepts it.

A gene view's figure JSON shrinks about four-fold (base64 arrays and
repeated keys), which matters on a shared network. A stored view is answered
with the same bytes every time, so the last compressed answers are kept by
digest: compressing 80 KB costs more than the rest of a stored view's answer.
Only JSON is compressed here: the JavaScript bundles are files served with long
cache lifetimes, fetched once per browser.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict

from flask import Flask, Response, request

#: Smaller answers are sent as they are (the gzip header would eat the gain).
MIN_BYTES = 1024
#: zlib level: on figure JSON, 5 comes within 1% of level 9's size in two thirds of its time.
LEVEL = 5
#: Compressed answers kept in memory, by digest of the plain answer (bytes, compressed).
MEMORY_BYTES = 64 * 2**20

_recent: OrderedDict[bytes, bytes] = OrderedDict()
_recent_bytes = [0]
_lock = threading.Lock()


def compressed(body: bytes) -> bytes:
    """``body`` gzip-compressed (from memory when the same bytes were compressed lately)."""
    digest = hashlib.blake2b(body, digest_size=20).digest()
    with _lock:
        if digest in _recent:
            _recent.move_to_end(digest)
            return _recent[digest]
    packed = gzip.compress(body, LEVEL, mtime=0)
    with _lock:
        if digest not in _recent:
            _recent[digest] = packed
            _recent_bytes[0] += len(packed)
        while _recent_bytes[0] > MEMORY_BYTES:
            _recent_bytes[0] -= len(_recent.popitem(last=False)[1])
    return packed


def install_gzip(server: Flask) -> None:
    """Compress JSON responses of ``server`` with gzip for clients that send ``Accept-Encoding: gzip``."""

    @server.after_request
    def gzip_json(response: Response) -> Response:
        if (response.mimetype != "application/json" or response.status_code != 200 or response.direct_passthrough
                or response.is_streamed or "Content-Encoding" in response.headers):
            return response
        response.vary.add("Accept-Encoding")
        if request.accept_encodings.quality("gzip") <= 0:
            return response
        body = response.get_data()
        if len(body) < MIN_BYTES:
            return response
        response.set_data(compressed(body))
        response.headers["Content-Encoding"] = "gzip"
        return response
