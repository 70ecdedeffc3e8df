"""Alembic's environment for the campaign tables.

:meth:`crm_core.campaigns.store.CampaignStore.migrate` passes its open connection (already in a
transaction that holds the migration lock) as ``config.attributes["connection"]``; the ``alembic``
command (see README.md here) connects to ``CRM_CAMPAIGNS_URL`` or the ini file's ``sqlalchemy.url``.
"""
import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from crm_core.campaigns.store import METADATA, VERSION_TABLE

config = context.config
if config.config_file_name is not None:  # the alembic command: its ini file configures logging
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return os.environ.get("CRM_CAMPAIGNS_URL") or config.get_main_option("sqlalchemy.url") or ""


def _configure(connection: sa.engine.Connection) -> None:
    context.configure(connection=connection, target_metadata=METADATA, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters by copying tables


if context.is_offline_mode():  # `alembic upgrade head --sql`: print the SQL instead of running it
    context.configure(url=_url(), target_metadata=METADATA, version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _configure(config.attributes["connection"])
    with context.begin_transaction():  # the caller's transaction: nothing is committed here
        context.run_migrations()
else:
    with sa.create_engine(_url(), poolclass=sa.pool.NullPool).connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
