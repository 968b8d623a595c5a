"""PNG text chunks, size and resolution (standard library only)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _iter_chunks(png: bytes):
    """Yield (type, data, start, end) for each chunk; raise on a bad file or CRC."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    pos = len(PNG_SIGNATURE)
    while pos < len(png):
        if pos + 12 > len(png):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        ctype, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        if len(data) != length or crc != zlib.crc32(ctype + data):
            raise ValueError(f"corrupt PNG chunk {ctype!r} at byte {pos}")
        yield ctype, data, pos, pos + 12 + length
        pos += 12 + length


def _check_keyword(key: str) -> bytes:
    try:
        raw = key.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"PNG text keyword must be latin-1: {key!r}") from None
    if not 1 <= len(raw) <= 79 or b"\0" in raw or key != key.strip():
        raise ValueError(f"PNG text keyword must be 1-79 characters, no NUL or edge spaces: {key!r}")
    return raw


def _text_chunk(key: str, value: str) -> bytes:
    """tEXt when the value is latin-1, else iTXt (UTF-8, uncompressed)."""
    keyword = _check_keyword(key)
    try:
        return _chunk(b"tEXt", keyword + b"\0" + value.replace("\0", "").encode("latin-1"))
    except UnicodeEncodeError:
        # keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translated keyword, NUL
        return _chunk(b"iTXt", keyword + b"\0\0\0" + b"\0" + b"\0" + value.replace("\0", "").encode("utf-8"))


def add_png_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """Insert text chunks (tEXt, or iTXt for non-latin-1 values) right after IHDR.

    Parameters
    ----------
    png : bytes
        A valid PNG file.
    text : mapping of str to str
        Keyword -> value. Keywords are 1-79 latin-1 characters; standard ones
        include ``Title``, ``Software``, ``Source``, ``Description``,
        ``Comment``, ``Creation Time``.

    Returns
    -------
    bytes
        The PNG with the chunks added (CRCs computed with zlib).
    """
    chunks = _iter_chunks(png)
    ctype, _, _, ihdr_end = next(chunks)
    if ctype != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    new = b"".join(_text_chunk(k, str(v)) for k, v in text.items())
    return png[:ihdr_end] + new + png[ihdr_end:]


def read_png_text(png: bytes) -> dict[str, str]:
    """Read tEXt, zTXt and iTXt chunks back into a dict (later keys win)."""
    out = {}
    for ctype, data, _, _ in _iter_chunks(png):
        if ctype == b"tEXt":
            key, _, value = data.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif ctype == b"zTXt":
            key, _, rest = data.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif ctype == b"iTXt":
            key, _, rest = data.partition(b"\0")
            compressed, body = rest[0], rest[2:]
            _lang, _, body = body.partition(b"\0")
            _translated, _, body = body.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(body) if compressed else body).decode("utf-8")
    return out


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from IHDR."""
    ctype, data, _, _ = next(_iter_chunks(png))
    if ctype != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    return struct.unpack(">II", data[:8])


def set_png_dpi(png: bytes, dpi: float) -> bytes:
    """Replace any pHYs chunk with one saying ``dpi`` (so 2100 px print at 7 in)."""
    per_metre = round(dpi / 0.0254)
    phys = _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    kept = [png[start:end] for ctype, _, start, end in _iter_chunks(png) if ctype != b"pHYs"]
    if not kept or kept[0][4:8] != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    return PNG_SIGNATURE + kept[0] + phys + b"".join(kept[1:])
