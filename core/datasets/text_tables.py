"""Errors of delimited text files, written for the people who gave them."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from core.errors import InputError


@contextmanager
def readable_table(path: Path, expected: str) -> Iterator[None]:
    """Turn pandas' errors while reading ``path`` into :class:`~core.errors.InputError` naming the file.

    Parameters
    ----------
    path : Path
        The file being read (its name is in every message).
    expected : str
        What the file should hold, ending the messages ("expected ...").

    Raises
    ------
    core.errors.InputError
        The file is empty, is not UTF-8 text, or cannot be parsed (a bad ``.gz`` too).
    """
    try:
        yield
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name}: the file is empty; expected {expected}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text (another encoding such as UTF-16 or Latin-1, a compressed or a "
                         "binary file); save it as UTF-8 text") from None
    except (OSError, ValueError) as exc:  # ParserError is a ValueError; a bad .gz raises OSError
        detail = str(exc).strip()
        detail = detail if len(detail) <= 200 else detail[:200] + "..."
        raise InputError(f"{path.name}: not a readable table ({type(exc).__name__}: {detail}); expected {expected}"
                         ) from None
