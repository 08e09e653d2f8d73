"""The command line's errors and exit codes."""

EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user-facing error: printed as one message, exit code 1, no traceback."""


class Diverged(Exception):
    """A NaN/inf training loss; args are (epoch, step, steps per epoch, loss value)."""


def fail(message):
    raise CLIError(message)
