"""Alembic environment of the product tables.

`migration.target.versioning` passes the connection, already inside the load transaction, in
`config.attributes["connection"]`; alembic then neither commits nor rolls back.
"""

from alembic import context

from migration.target.versioning import VERSION_TABLE, product_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=product_metadata(),
    version_table=VERSION_TABLE,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
