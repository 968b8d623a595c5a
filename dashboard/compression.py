"""Gzip for the app's JSON answers (callback results, layouts), when the client accepts it.

A gene view's figure JSON shrinks five- to thirty-fold (base64 arrays and
repeated keys), which matters on a shared network more than the millisecond
the compression takes. Only JSON is compressed here: the JavaScript bundles
are files served with long cache lifetimes, fetched once per browser.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

#: Smaller answers are sent as they are (the gzip header would eat the gain).
MIN_BYTES = 1024
#: zlib level: 5 gives nearly level 9's size at a third of its time on figure JSON.
LEVEL = 5


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
        response.set_data(gzip.compress(body, LEVEL, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
        return response
