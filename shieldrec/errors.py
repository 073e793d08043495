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
