"""The project's exceptions.

Every message names the file or value at fault and says how to fix it, so the command line can
print it as one line. All inherit :class:`LandslideError`, which the CLI turns into a non-zero
exit; library users can catch the specific classes.
"""

from __future__ import annotations

import errno

__all__ = [
    "NO_SPACE",
    "LandslideError",
    "DataError",
    "BandError",
    "SchemaError",
    "ConfigError",
    "OutputExistsError",
    "OutputError",
    "NotFittedError",  # noqa: F822 (built on first use by __getattr__, PEP 562)
]


#: errno values of a write refused for lack of space: disk full, quota exceeded, file-size limit.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class LandslideError(Exception):
    """Base class: a user-facing error with a one-line message."""


class DataError(LandslideError, ValueError):
    """Input data is missing, malformed or holds invalid values."""


class BandError(DataError):
    """A band set or band name does not match what is required."""


class SchemaError(DataError):
    """A table's columns or dtypes differ from what is required."""


class ConfigError(LandslideError, ValueError):
    """A configuration file or override is invalid."""


class OutputExistsError(LandslideError, FileExistsError):
    """An output would overwrite existing results."""


class OutputError(LandslideError, OSError):
    """An output could not be written (its disk is full, a quota or file-size limit is reached)."""


def _not_fitted_error() -> type[LandslideError]:
    """Build :class:`NotFittedError` (see :func:`__getattr__`)."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(LandslideError, SklearnNotFittedError):
        """An estimator or run was used before ``fit`` / training.

        Subclasses scikit-learn's ``NotFittedError`` so ``check_is_fitted`` idioms keep working.
        """

    NotFittedError.__qualname__ = "NotFittedError"  # pickles and prints as landslide_fusion.errors.NotFittedError
    return NotFittedError


def __getattr__(name: str) -> type[LandslideError]:
    """``NotFittedError`` is built on first use (PEP 562): it subclasses scikit-learn's, whose import
    (with SciPy) takes seconds that ``landslide --help`` and every other error class must not pay."""
    if name != "NotFittedError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    cls = globals()[name] = _not_fitted_error()
    return cls
