"""The base error of mdph-reprise.

Every error the product raises on purpose derives from `MdphRepriseError`. Its message is written
for the person running the migration: it names the file, line and column when they are known
and says what to do. It never contains a personal value.
"""


class MdphRepriseError(Exception):
    """An error the user can act on; the CLI prints its message and exits with code 2."""

    exit_code = 2


class ProcessEndedError(MdphRepriseError):
    """A process of the run ended without its result, for example stopped by the system for
    lack of memory, so nothing was loaded. The CLI exits with code 3, so that a script can
    run the same command again, with `--workers 1` to use less memory."""

    exit_code = 3
