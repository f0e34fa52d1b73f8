"""The one error type that the command-line layer turns into a one-line message and exit code."""


class UserError(Exception):
    """Bad input or a missing prerequisite: the message names the problem and the fix."""
