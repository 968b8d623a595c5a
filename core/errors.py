"""Exceptions whose messages are written for the person who supplied the input."""


class InputError(ValueError):
    """Bad user input: the message says what is wrong and how to fix it.

    Raised for malformed files, unknown genes, out-of-range parameters and the
    like. The dashboard shows the message verbatim in an alert, so write it for
    a biologist, name the file or parameter, and say what would be accepted.
    """


class UnknownGeneError(InputError, KeyError):
    """A gene symbol that is not in the dataset in use."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class JobCancelled(Exception):
    """Raised inside a long computation when its user cancelled it."""
