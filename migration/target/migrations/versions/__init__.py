"""One Alembic revision per file, named after its revision id."""
