"""Small exception classes; the CLI turns them into click errors at the edge."""


class ShieldRecError(Exception):
    """Base for every error ShieldRec reports to its user."""


class ProfileNotFound(ShieldRecError):
    pass


class ProfileExists(ShieldRecError):
    pass


class InvalidInput(ShieldRecError):
    """Untrusted input (a file, a JSONL line, a platform response) that cannot be used."""


class PlatformError(ShieldRecError):
    """A platform could not be reached or answered with something unusable."""


class CredentialError(ShieldRecError):
    pass


class ModelError(ShieldRecError):
    """A model file is missing, corrupt or cannot be loaded."""


class LlmUnavailable(ModelError):
    """The local language model cannot be used now (turned off, missing, corrupt, stopped):
    whatever asked for it ranks without it."""


class LlmStopped(LlmUnavailable):
    """The language model's process died or stopped answering in the middle of a request."""

    def __init__(self, message: str, *, log_tail: tuple[str, ...] = (), log_path: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail
        self.log_path = log_path


class LlmBusyError(ModelError):
    """A request does not fit in the model's context window."""
