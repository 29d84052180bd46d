"""Errors raised while reading a data dictionary."""

from migration.errors import MdphRepriseError


class DictionaryError(MdphRepriseError):
    """A data dictionary file is missing, is not valid YAML or does not follow the format."""
