"""The base error of mdph-reprise.

Every error the product raises on purpose derives from `MdphRepriseError`. Its message is written
for the person running the migration: it names the file, line and column when they are known
and says what to do. It never contains a personal value.
"""


class MdphRepriseError(Exception):
    """An error the user can act on; the CLI prints its message and exits with code 2."""

    exit_code = 2
