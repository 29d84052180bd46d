"""Errors raised while reading a decrypted table file."""

from migration.errors import MdphRepriseError


class ReadingError(MdphRepriseError):
    """A table file cannot be read at all: missing, or not in its declared encoding."""
