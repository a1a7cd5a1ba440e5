"""Errors the zoo reports to a person as one line, never as a traceback."""


class ZooError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The command line prints the message and exits with `exit_code`.
    """

    exit_code = 1


class UsageError(ZooError):
    """An unknown model or setting, or a value of the wrong type or range."""

    exit_code = 2


class DataError(ZooError):
    """A dataset that is missing, corrupt, or fails its checksum."""
