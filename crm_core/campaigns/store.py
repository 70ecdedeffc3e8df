"""Campaigns, their members and their contacts in a SQL database: SQLite beside the saved datasets by
default, PostgreSQL when a deployment names one.

``CampaignStore.for_data_dir(dir)`` keeps them in ``<dir>/campaigns.sqlite``; :func:`default_url` reads
``CRM_CAMPAIGNS_URL`` first (``postgresql+psycopg://user@host:5432/crm``; a password comes from the URL or
libpq's ``PGPASSWORD`` and is never stored or shown by this module). The tables are made by Alembic
migrations (``crm_core/campaigns/migrations``, see its README); :meth:`CampaignStore.migrate` runs them and
is safe when several processes start on a fresh database at once. Every method runs in one transaction.

SQLite is opened in WAL mode with a busy timeout and foreign keys on, and a transaction that writes
begins ``IMMEDIATE``: two sessions or processes writing at once wait for each other instead of failing.

Owners are the opaque keys of :mod:`crm_core.store` (a hash, never the cookie): :meth:`~CampaignStore.delete`
and :meth:`~CampaignStore.rename` take ``owner`` (None: an administrator, no check). Opening a campaign by
id needs none. Errors are :class:`~crm_core.campaigns.model.CampaignError` with an i18n key:
``campaigns.error.storage`` (``detail``: what failed, without the password), ``.name`` (``max``),
``.not_found``, ``.not_owner``, ``.exists``, ``.columns`` (``columns``: the missing ones).
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.engine.interfaces import Dialect

from crm_core.campaigns.model import GOALS, GROUPS, MAX_NAME, SOURCES, Campaign, CampaignError

SQLITE_FILE = "campaigns.sqlite"
URL_VARIABLE = "CRM_CAMPAIGNS_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "campaigns_alembic_version"  # not alembic_version: the database may be shared with other apps
ORIGINS = ("app", "call_log")
"""app: a member marked done on the campaign page (one mark per member); call_log: a row of an uploaded log."""
DEFAULT_KIND = "call"
BUSY_TIMEOUT_SECONDS = 30   # SQLite: how long a writer waits for another before giving up
CONNECT_TIMEOUT_SECONDS = 10  # PostgreSQL: how long to wait for an unreachable server
MIGRATION_LOCK = 0x43524D43  # pg_advisory_xact_lock key ("CRMC") that serialises concurrent migrations
_SUPPORTED = ("sqlite", "postgresql")
_DETAIL_CHARS = 200
_IN_BATCH = 5_000  # ids per IN (…): under SQLite's 32,766 and PostgreSQL's 65,535 parameters


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend: SQLite keeps it naive in UTC, PostgreSQL as
    ``timestamptz``; read back it is always aware, in UTC. A naive value given is taken as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# What the queries below use. The tables themselves are made by the migrations (written by hand, one per
# change); tests/core/test_campaign_store.py checks that the migrated database matches this metadata.
METADATA = sa.MetaData()
campaigns_table = sa.Table(
    "campaigns", METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("goal", sa.String(32), nullable=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("window_days", sa.Integer, nullable=False),
    sa.Column("control_share", sa.Float, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("source_detail", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("product", sa.Text, nullable=True),
    sa.Column("dataset_id", sa.String(64), nullable=True),
    sa.Column("dataset_name", sa.Text, nullable=False),
    sa.Column("cost_per_contact", sa.Float, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("link", sa.Text, nullable=False),
    sa.Index("ix_campaigns_created", "created"),
)
members_table = sa.Table(
    "campaign_members", METADATA,
    sa.Column("campaign_id", sa.String(64),
              sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_campaign_members_campaign"), primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("stratum", sa.Text, nullable=True),
    sa.Column("group", sa.String(16), nullable=False),
    sa.CheckConstraint("\"group\" IN ('treatment', 'control')", name="ck_campaign_members_group"),
)
contacts_table = sa.Table(
    "campaign_contacts", METADATA,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.String(64),
              sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_campaign_contacts_campaign"), nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("contacted_at", sa.DateTime, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    # app: the customer id (one mark per member); call_log: a hash of the whole row (a re-upload adds nothing)
    sa.Column("row_key", sa.String(64), nullable=False),
    sa.CheckConstraint("origin IN ('app', 'call_log')", name="ck_campaign_contacts_origin"),
    sa.UniqueConstraint("campaign_id", "origin", "row_key", name="uq_campaign_contacts_row"),
    sa.Index("ix_campaign_contacts_customer", "campaign_id", "customer_id"),
)

GROUPS_SCHEMA = pl.Schema({"customer_id": pl.String(), "stratum": pl.String(), "group": pl.String()})
CONTACTS_SCHEMA = pl.Schema({"customer_id": pl.String(), "contacted_at": pl.Datetime("us"), "kind": pl.String(),
                             "outcome": pl.String(), "note": pl.String(), "origin": pl.String()})
_CAMPAIGN_FIELDS = [column.name for column in campaigns_table.columns]


@dataclass(frozen=True)
class CampaignSummary:
    """A row of the campaign list: the campaign, its group sizes and how many members have a contact
    stored (from the app or a call log; treatment and control together)."""

    campaign: Campaign
    treatment: int
    control: int
    contacted: int

    @property
    def members(self) -> int:
        return self.treatment + self.control


def default_url(data_dir: Path | str, environ: Mapping[str, str] | None = None) -> str:
    """``CRM_CAMPAIGNS_URL`` when set (and not blank), else the SQLite file ``<data_dir>/campaigns.sqlite``."""
    environ = os.environ if environ is None else environ
    configured = (environ.get(URL_VARIABLE) or "").strip()
    if configured:
        return configured
    return sqlite_url(Path(data_dir) / SQLITE_FILE)


def sqlite_url(path: Path | str) -> str:
    """The SQLAlchemy URL of a SQLite file (any characters in the path)."""
    return URL.create("sqlite", database=str(Path(path).resolve())).render_as_string(hide_password=False)


def valid_name(name: str, max_chars: int = MAX_NAME) -> str:
    """``name`` stripped; ``campaigns.error.name`` when it is empty or longer than ``max_chars``."""
    stripped = name.strip() if isinstance(name, str) else ""
    if not stripped or len(stripped) > max_chars:
        raise CampaignError("campaigns.error.name", {"max": max_chars})
    return stripped


class CampaignStore:
    """Campaigns in the database at ``url`` (a SQLAlchemy URL: ``sqlite:///…`` or ``postgresql+psycopg://…``).

    Nothing connects until the first call; the first call migrates the database to the newest schema
    (once per store; :meth:`migrate` does it explicitly). A store is safe to share between threads; call
    :meth:`dispose` to close its connections.
    """

    def __init__(self, url: str | URL) -> None:
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError, TypeError):
            raise CampaignError("campaigns.error.storage", {"detail": "not a database URL"}) from None
        self._password = parsed.password if isinstance(parsed.password, str) else None
        self.url = parsed.render_as_string(hide_password=True)
        backend = parsed.get_backend_name()
        if backend not in _SUPPORTED:
            raise CampaignError("campaigns.error.storage",
                                {"detail": f"unsupported database {backend!r} (SQLite or PostgreSQL)"})
        with self._storage_errors():
            self._engine = _engine(parsed)
        self._migrated = False
        self._migrate_lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, data_dir: Path | str) -> CampaignStore:
        """The SQLite store ``<data_dir>/campaigns.sqlite`` (the folder is made if missing)."""
        folder = Path(data_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CampaignError("campaigns.error.storage", {"detail": error.strerror or type(error).__name__}) from None
        return cls(sqlite_url(folder / SQLITE_FILE))

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def dispose(self) -> None:
        """Close the pooled connections (the store opens new ones if used again)."""
        self._engine.dispose()

    # --- schema -------------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Alembic ``upgrade head``, in one transaction that holds a lock while it runs (PostgreSQL:
        ``pg_advisory_xact_lock``; SQLite: ``BEGIN IMMEDIATE``), so a second process waits and then
        finds nothing to do. Running it on a database already at head changes nothing."""
        from alembic import command
        from alembic.config import Config

        with self._storage_errors(), self._engine.connect() as connection:
            connection.execution_options(crm_write=True)
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        self._migrated = True

    def _ready(self) -> None:
        if not self._migrated:
            with self._migrate_lock:
                if not self._migrated:
                    self.migrate()

    # --- campaigns ------------------------------------------------------------------------------------

    def create(self, campaign: Campaign, groups: pl.DataFrame) -> Campaign:
        """Store ``campaign`` and its members (``groups``: customer_id, stratum, group — one row per
        member, group one of GROUPS) in one transaction; returns it as stored (name stripped).

        ``campaigns.error.exists`` when its id is taken, ``.name`` for a bad name, ``.columns`` when
        ``groups`` lacks a column. Members go in batches of one executemany each (100k in seconds)."""
        stored = _checked(campaign)
        members = _members(groups)
        self._ready()
        with self._writing() as connection:
            exists = connection.execute(sa.select(campaigns_table.c.id).where(campaigns_table.c.id == stored.id))
            if exists.first() is not None:
                raise CampaignError("campaigns.error.exists")
            connection.execute(campaigns_table.insert(), [_campaign_row(stored)])
            rows = members.with_columns(campaign_id=pl.lit(stored.id)).to_dicts()
            for rows_batch in _batches(rows):
                connection.execute(members_table.insert(), rows_batch)
        return stored

    def list_campaigns(self, owner: str | None = None) -> list[CampaignSummary]:
        """Every campaign, newest first (by ``created``, then id), with its group sizes; with ``owner``,
        only that owner's."""
        self._ready()
        sizes = (sa.select(members_table.c.campaign_id,
                           sa.func.sum(sa.case((members_table.c.group == "treatment", 1), else_=0)).label("treatment"),
                           sa.func.sum(sa.case((members_table.c.group == "control", 1), else_=0)).label("control"))
                 .group_by(members_table.c.campaign_id).subquery())
        contacted = (sa.select(contacts_table.c.campaign_id,
                               sa.func.count(sa.distinct(contacts_table.c.customer_id)).label("contacted"))
                     .group_by(contacts_table.c.campaign_id).subquery())
        query = (sa.select(campaigns_table, sa.func.coalesce(sizes.c.treatment, 0),
                           sa.func.coalesce(sizes.c.control, 0), sa.func.coalesce(contacted.c.contacted, 0))
                 .outerjoin(sizes, sizes.c.campaign_id == campaigns_table.c.id)
                 .outerjoin(contacted, contacted.c.campaign_id == campaigns_table.c.id)
                 .order_by(campaigns_table.c.created.desc(), campaigns_table.c.id.desc()))
        if owner is not None:
            query = query.where(campaigns_table.c.owner == owner)
        with self._reading() as connection:
            rows = connection.execute(query).all()
        width = len(_CAMPAIGN_FIELDS)
        return [CampaignSummary(_campaign(row[:width]), int(row[width]), int(row[width + 1]), int(row[width + 2]))
                for row in rows]

    def get(self, campaign_id: str) -> Campaign | None:
        """The campaign with this id, or None."""
        self._ready()
        with self._reading() as connection:
            return self._find(connection, campaign_id)

    def groups(self, campaign_id: str) -> pl.DataFrame:
        """The members: customer_id, stratum, group (sorted by customer_id); ``not_found`` for an unknown id."""
        self._ready()
        with self._reading() as connection:
            self._existing(connection, campaign_id)
            rows = connection.execute(
                sa.select(members_table.c.customer_id, members_table.c.stratum, members_table.c.group)
                .where(members_table.c.campaign_id == campaign_id).order_by(members_table.c.customer_id)).all()
        return pl.DataFrame([tuple(row) for row in rows], schema=GROUPS_SCHEMA, orient="row")

    def rename(self, campaign_id: str, name: str, owner: str | None) -> None:
        """Give the campaign a new name (stripped, 1 to MAX_NAME characters); only its owner may (None:
        an administrator)."""
        stripped = valid_name(name)
        self._ready()
        with self._writing() as connection:
            self._owned(connection, campaign_id, owner)
            connection.execute(campaigns_table.update().where(campaigns_table.c.id == campaign_id)
                               .values(name=stripped))

    def delete(self, campaign_id: str, owner: str | None) -> None:
        """Remove the campaign with its members and contacts (the foreign keys cascade); only its owner
        may (None: an administrator)."""
        self._ready()
        with self._writing() as connection:
            self._owned(connection, campaign_id, owner)
            connection.execute(campaigns_table.delete().where(campaigns_table.c.id == campaign_id))

    # --- contacts -------------------------------------------------------------------------------------

    def mark_done(self, campaign_id: str, rows: pl.DataFrame, at: datetime | None = None) -> None:
        """Marks made in the app: ``rows`` has customer_id, done (bool), outcome, and optionally kind
        (default ``call``) and note. ``done`` true stores or replaces the member's one ``app`` mark (its
        ``contacted_at`` is ``at``, naive in the data's clock, or NULL); false removes it. Customers who
        are not members are ignored; the last row of a customer wins."""
        _require(rows, ("customer_id", "done", "outcome"))
        marks = (rows.with_columns(
            customer_id=pl.col("customer_id").cast(pl.String),
            done=pl.col("done").cast(pl.Boolean).fill_null(False),
            outcome=pl.col("outcome").cast(pl.String),
            kind=(pl.col("kind").cast(pl.String) if "kind" in rows.columns else pl.lit(None, pl.String))
            .fill_null(DEFAULT_KIND),
            note=(pl.col("note").cast(pl.String) if "note" in rows.columns else pl.lit(None, pl.String)).fill_null(""))
            .filter(pl.col("customer_id").is_not_null())
            .unique("customer_id", keep="last", maintain_order=True))
        self._ready()
        with self._writing() as connection:
            self._existing(connection, campaign_id)
            marks = marks.filter(pl.col("customer_id").is_in(self._members_among(connection, campaign_id,
                                                                                 marks["customer_id"].to_list())))
            done = [{"campaign_id": campaign_id, "customer_id": row["customer_id"], "contacted_at": _naive(at),
                     "kind": row["kind"], "outcome": row["outcome"], "note": row["note"], "origin": "app",
                     "row_key": row["customer_id"]} for row in marks.filter("done").iter_rows(named=True)]
            upsert = self._insert(contacts_table)
            upsert = upsert.on_conflict_do_update(
                index_elements=["campaign_id", "origin", "row_key"],
                set_={name: upsert.excluded[name] for name in ("contacted_at", "kind", "outcome", "note")})
            for rows_batch in _batches(done):
                connection.execute(upsert, rows_batch)
            undone = [{"key": key} for key in marks.filter(~pl.col("done"))["customer_id"].to_list()]
            remove = contacts_table.delete().where(contacts_table.c.campaign_id == campaign_id,
                                                   contacts_table.c.origin == "app",
                                                   contacts_table.c.row_key == sa.bindparam("key"))
            for keys_batch in _batches(undone):
                connection.execute(remove, keys_batch)

    def add_call_log(self, campaign_id: str, rows: pl.DataFrame) -> int:
        """Store an uploaded call log's rows for the campaign's members: customer_id, contacted_at
        (datetime or date; aware times are kept as UTC), kind (empty: ``call``), outcome, note. Returns
        how many rows were new. A row identical to one stored before (all five fields) is a duplicate and
        adds nothing, so uploading the same log twice stores it once; rows without a customer or a time,
        and rows of customers who are not members, are not stored."""
        _require(rows, ("customer_id", "contacted_at", "kind", "outcome", "note"))
        log = (rows.select(
            pl.col("customer_id").cast(pl.String),
            _datetime_expression(rows.schema["contacted_at"]).alias("contacted_at"),
            pl.col("kind").cast(pl.String).fill_null(DEFAULT_KIND),
            pl.col("outcome").cast(pl.String),
            pl.col("note").cast(pl.String).fill_null(""))
            .filter(pl.col("customer_id").is_not_null() & pl.col("contacted_at").is_not_null())
            .unique(maintain_order=True))
        self._ready()
        with self._writing() as connection:
            self._existing(connection, campaign_id)
            log = log.filter(pl.col("customer_id").is_in(self._members_among(connection, campaign_id,
                                                                             log["customer_id"].unique().to_list())))
            # the key is a SHA-256 of the row: hashlib per row, as no polars expression hashes stably
            new = [{"campaign_id": campaign_id, **row, "origin": "call_log", "row_key": _row_key(row)}
                   for row in log.iter_rows(named=True)]
            insert = (self._insert(contacts_table).on_conflict_do_nothing(
                index_elements=["campaign_id", "origin", "row_key"]).returning(contacts_table.c.id))
            stored = 0
            for rows_batch in _batches(new):
                stored += len(connection.execute(insert, rows_batch).all())
        return stored

    def contacts(self, campaign_id: str) -> pl.DataFrame:
        """Every stored contact: customer_id, contacted_at, kind, outcome, note, origin (by time, marks
        without a time last); ``not_found`` for an unknown id."""
        self._ready()
        columns = [contacts_table.c[name] for name in CONTACTS_SCHEMA]
        with self._reading() as connection:
            self._existing(connection, campaign_id)
            rows = connection.execute(
                sa.select(*columns).where(contacts_table.c.campaign_id == campaign_id)
                .order_by(contacts_table.c.contacted_at.is_(None), contacts_table.c.contacted_at,
                          contacts_table.c.customer_id, contacts_table.c.id)).all()
        return pl.DataFrame([tuple(row) for row in rows], schema=CONTACTS_SCHEMA, orient="row")

    # --- inside ---------------------------------------------------------------------------------------

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """Any failure of the database or its driver as ``campaigns.error.storage`` with a short detail
        that never holds the password."""
        try:
            yield
        except CampaignError:
            raise
        except (sa.exc.SQLAlchemyError, ImportError, OSError) as error:
            raise CampaignError("campaigns.error.storage", {"detail": self._detail(error)}) from None

    def _detail(self, error: BaseException) -> str:
        cause = error.orig if isinstance(error, sa.exc.DBAPIError) and error.orig is not None else error
        text = str(cause).strip().splitlines()
        detail = f"{type(cause).__name__}: {text[0].strip() if text else ''}".rstrip(": ")
        if self._password:
            detail = detail.replace(self._password, "***")
        return detail[:_DETAIL_CHARS]

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._storage_errors(), self._engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._storage_errors(), self._engine.connect() as connection:
            connection.execution_options(crm_write=True)  # SQLite: BEGIN IMMEDIATE (see _engine)
            with connection.begin():
                yield connection

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ON CONFLICT (both dialects spell it the same)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert
            return postgresql_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        return sqlite_insert(table)

    @staticmethod
    def _find(connection: Connection, campaign_id: str) -> Campaign | None:
        row = connection.execute(sa.select(campaigns_table).where(campaigns_table.c.id == campaign_id)).first()
        return None if row is None else _campaign(row)

    def _existing(self, connection: Connection, campaign_id: str) -> Campaign:
        found = self._find(connection, campaign_id)
        if found is None:
            raise CampaignError("campaigns.error.not_found")
        return found

    def _owned(self, connection: Connection, campaign_id: str, owner: str | None) -> Campaign:
        found = self._existing(connection, campaign_id)
        if owner is not None and found.owner != owner:
            raise CampaignError("campaigns.error.not_owner")
        return found

    @staticmethod
    def _members_among(connection: Connection, campaign_id: str, customer_ids: list[str]) -> list[str]:
        """Which of ``customer_ids`` are members (asked in batches: both databases cap a statement's parameters)."""
        found: list[str] = []
        for begin in range(0, len(customer_ids), _IN_BATCH):
            found += connection.execute(
                sa.select(members_table.c.customer_id).where(
                    members_table.c.campaign_id == campaign_id,
                    members_table.c.customer_id.in_(customer_ids[begin:begin + _IN_BATCH]))).scalars()
        return found


def _engine(url: URL) -> Engine:
    """An engine for ``url``. SQLite: the driver's own BEGIN is off and ours is emitted instead —
    ``BEGIN IMMEDIATE`` on connections marked ``crm_write`` — with WAL, a busy timeout and foreign keys
    set on every new connection (SQLAlchemy's SQLite docs, "Transactions with SQLite and the sqlite3
    driver")."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            _wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")  # WAL's safe setting: a power cut loses no committed DB
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("crm_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _wal(cursor: Any, timeout_seconds: float = BUSY_TIMEOUT_SECONDS, pause_seconds: float = 0.02) -> None:
    """Put the database in WAL mode (it stays so, in the file). On a fresh file several processes may try at
    once, and SQLite answers the switch with "database is locked" without waiting in its busy handler:
    try again until ``timeout_seconds``, as the busy timeout would."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause_seconds)


def _checked(campaign: Campaign) -> Campaign:
    if campaign.goal not in GOALS:
        raise ValueError(f"unknown goal {campaign.goal!r}")
    if campaign.source not in SOURCES:
        raise ValueError(f"unknown source {campaign.source!r}")
    if not isinstance(campaign.created, datetime):
        raise ValueError("created must be a datetime")
    name = valid_name(campaign.name)
    return campaign if name == campaign.name else replace(campaign, name=name)


def _campaign_row(campaign: Campaign) -> dict[str, Any]:
    return {name: getattr(campaign, name) for name in _CAMPAIGN_FIELDS}


def _campaign(row: Any) -> Campaign:
    values = dict(zip(_CAMPAIGN_FIELDS, tuple(row)))
    return Campaign(**values)


def _require(frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise CampaignError("campaigns.error.columns", {"columns": ", ".join(missing)})


def _members(groups: pl.DataFrame) -> pl.DataFrame:
    """``groups`` as stored: string columns, every group one of GROUPS, each customer once."""
    _require(groups, ("customer_id", "stratum", "group"))
    members = groups.select(pl.col("customer_id").cast(pl.String), pl.col("stratum").cast(pl.String),
                            pl.col("group").cast(pl.String))
    if members["customer_id"].null_count():
        raise ValueError("a member without a customer_id")
    unknown = members.filter(~pl.col("group").is_in(GROUPS) | pl.col("group").is_null())
    if unknown.height:
        raise ValueError(f"groups must be one of {GROUPS}, not {unknown['group'].unique().to_list()[:5]}")
    if members["customer_id"].n_unique() != members.height:
        raise ValueError("a customer is in the campaign twice")
    return members


def _batches(rows: list[dict[str, Any]], size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    for begin in range(0, len(rows), size):
        yield rows[begin:begin + size]


def _naive(moment: datetime | None) -> datetime | None:
    """A contact time as stored: naive, in the data's clock (an aware time is converted to UTC first)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _datetime_expression(dtype: pl.DataType) -> pl.Expr:
    """contacted_at as naive microseconds: dates at midnight, aware times in UTC."""
    column = pl.col("contacted_at")
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column.cast(pl.Datetime("us"))
    raise CampaignError("campaigns.error.columns", {"columns": "contacted_at"})


def _row_key(row: Mapping[str, Any]) -> str:
    moment = row["contacted_at"]
    text = "\x1f".join([row["customer_id"], moment.isoformat() if isinstance(moment, datetime | date) else "",
                        row["kind"], "\x00" if row["outcome"] is None else row["outcome"], row["note"]])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
