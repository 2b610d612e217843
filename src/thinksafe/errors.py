"""A small exception hierarchy. Every message says what to do next."""

from __future__ import annotations


class ThinksafeError(Exception):
    """Base class for errors raised by thinksafe."""


class UserError(ThinksafeError):
    """A mistake the user can fix (bad flag, unknown name, malformed file, missing key).

    The command line prints the message on one line and exits with code 2.
    """


class ConfigError(UserError):
    """A bad flag, option or configuration value."""


class UnknownComponentError(UserError):
    """A target, suite, judge or attack name that nothing is registered under."""


class MissingExtraError(UserError):
    """An optional dependency is not installed; the message names the pip extra."""


class DataError(UserError):
    """A malformed input file; the message names the file and line."""


class ProviderError(ThinksafeError):
    """A model call failed.

    ``transient`` errors (408, 409, 429, 5xx, timeouts, dropped connections) are retried by the
    engine's shared retry wrapper, honouring ``retry_after`` when the server sent one. Others
    are recorded as an error outcome for that attempt.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


class TargetUnavailableError(UserError):
    """The target cannot be used at all (unreachable server, key rejected)."""


TRANSIENT_STATUSES = frozenset({408, 409, 429})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500
