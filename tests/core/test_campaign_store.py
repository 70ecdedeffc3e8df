"""CampaignStore on SQLite and on a real PostgreSQL (tests/pg.py starts one; skipped without it unless
CRM_REQUIRE_POSTGRES=1): every field back as stored, 100k members, contacts, owners, migrations, and
threads and processes writing at the same moment."""
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm_core.campaigns.model import MAX_NAME, Campaign, CampaignError
from crm_core.campaigns.store import (
    METADATA,
    VERSION_TABLE,
    CampaignStore,
    contacts_table,
    default_url,
    members_table,
    sqlite_url,
)

pytest_plugins = ["tests.pg"]  # the fixtures postgres_url and postgres_database

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        (tmp_path / "数据 dir").mkdir()
        return sqlite_url(tmp_path / "数据 dir" / "campaigns.sqlite")
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def store(database_url):
    campaigns = CampaignStore(database_url)
    yield campaigns
    campaigns.dispose()


def campaign(campaign_id="c1", **changes) -> Campaign:
    base = Campaign(id=campaign_id, name="Win back spring", goal="win_back", start=date(2026, 3, 2), window_days=90,
                    control_share=0.1, seed=20260302, source="at_risk", source_detail="churn risk ≥ 0.6",
                    created=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC), owner="owner-a")
    return replace(base, **changes)


def members(count: int, control_every: int = 10) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": [f"C{index:06d}" for index in range(count)],
        "stratum": [f"tier{index % 3}|华东" for index in range(count)],
        "group": ["control" if index % control_every == 0 else "treatment" for index in range(count)],
    })


def test_every_field_comes_back_as_stored(store):
    full = campaign("full", name="老客户召回 · 华东区 VIP", goal="cross_sell", product="乌龙茶 500g",
                    source="target_list", source_detail="买过 绿茶，没买过 乌龙茶", dataset_id="Xk3_abcdefghijklmnop",
                    dataset_name="纷享销客 2025 导出", cost_per_contact=12.5, currency="CNY",
                    link="page=cross_sell&x=%E7%BB%BF%E8%8C%B6", control_share=0.25, seed=2**40 + 7,
                    created=datetime(2026, 3, 1, 17, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))))
    bare = campaign("bare", created=datetime(2026, 3, 1, 9, 0))  # naive: taken as UTC
    store.create(full, members(5))
    store.create(bare, members(3))

    got_full, got_bare = store.get("full"), store.get("bare")
    assert got_full == full and got_bare == replace(bare, created=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert got_full.created.tzinfo == UTC and got_full.created == datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    assert isinstance(got_full.start, date) and not isinstance(got_full.start, datetime)
    assert (got_bare.product, got_bare.dataset_id, got_bare.cost_per_contact, got_bare.currency) == (None,) * 4
    assert got_full.end == date(2026, 5, 31)
    assert store.get("missing") is None


def test_hundred_thousand_members_are_stored_and_read_back_identical(store):
    groups = members(100_000)
    began = time.perf_counter()
    store.create(campaign("big"), groups)
    stored_seconds = time.perf_counter() - began
    began = time.perf_counter()
    back = store.groups("big")
    read_seconds = time.perf_counter() - began
    print(f"\n{store.dialect}: 100k members stored in {stored_seconds:.2f} s, read in {read_seconds:.2f} s")
    assert back.equals(groups)  # members() is already in customer_id order, as groups() returns them
    assert back.schema == pl.Schema({"customer_id": pl.String, "stratum": pl.String, "group": pl.String})
    summary = store.list_campaigns()[0]
    assert (summary.treatment, summary.control, summary.members) == (90_000, 10_000, 100_000)
    assert stored_seconds < 30 and read_seconds < 10


def test_list_is_newest_first_with_group_sizes_and_an_owner_filter(store):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store.create(campaign("old", created=start), members(10))
    store.create(campaign("new", created=start + timedelta(days=2), owner="owner-b"), members(20, control_every=4))
    store.create(campaign("mid", created=start + timedelta(days=1)), members(0))
    listed = store.list_campaigns()
    assert [summary.campaign.id for summary in listed] == ["new", "mid", "old"]
    assert [(summary.treatment, summary.control, summary.contacted) for summary in listed] == [
        (15, 5, 0), (0, 0, 0), (9, 1, 0)]
    assert [summary.campaign.id for summary in store.list_campaigns(owner="owner-a")] == ["mid", "old"]
    assert store.list_campaigns(owner="nobody") == []


def test_marks_made_in_the_app_are_upserted_and_removed(store):
    store.create(campaign(), members(10))
    store.mark_done("c1", pl.DataFrame({"customer_id": ["C000001", "C000002", "not-a-member"],
                                        "done": [True, True, True], "outcome": ["connected", None, "x"]}),
                    at=datetime(2026, 3, 3, 10, 0))
    store.mark_done("c1", pl.DataFrame({"customer_id": ["C000001"], "done": [True], "outcome": ["回访成功"],
                                        "kind": ["visit"], "note": ["门店"]}),
                    at=datetime(2026, 3, 4, 2, 0, tzinfo=timezone(timedelta(hours=8))))  # 2026-03-03 18:00 UTC
    marks = store.contacts("c1")
    assert marks.to_dicts() == [
        {"customer_id": "C000002", "contacted_at": datetime(2026, 3, 3, 10, 0), "kind": "call", "outcome": None,
         "note": "", "origin": "app"},
        {"customer_id": "C000001", "contacted_at": datetime(2026, 3, 3, 18, 0), "kind": "visit", "outcome": "回访成功",
         "note": "门店", "origin": "app"},
    ]
    assert store.list_campaigns()[0].contacted == 2
    store.mark_done("c1", pl.DataFrame({"customer_id": ["C000002", "C000003"], "done": [False, False],
                                        "outcome": [None, None]}))
    assert store.contacts("c1")["customer_id"].to_list() == ["C000001"]
    with pytest.raises(CampaignError) as error:
        store.mark_done("missing", pl.DataFrame({"customer_id": ["C1"], "done": [True], "outcome": [None]}))
    assert error.value.key == "campaigns.error.not_found"


def test_uploading_the_same_call_log_again_adds_nothing(store):
    store.create(campaign(), members(10))
    log = pl.DataFrame({
        "customer_id": ["C000001", "C000001", "C000002", "C000002", "outsider", None],
        "contacted_at": [datetime(2026, 3, 3, 9), datetime(2026, 3, 5, 9), datetime(2026, 3, 3, 11),
                         datetime(2026, 3, 3, 11), datetime(2026, 3, 3, 12), datetime(2026, 3, 3, 12)],
        "kind": ["call", "call", "email", "email", "call", "call"],
        "outcome": ["no_answer", "connected", None, None, "connected", "connected"],
        "note": ["", "约了下周到店", None, None, "", ""],
    })
    assert store.add_call_log("c1", log) == 3  # the repeated row once; no outsider, no row without a customer
    assert store.add_call_log("c1", log) == 0
    more = pl.concat([log.head(1), pl.DataFrame({"customer_id": ["C000003"], "contacted_at": [datetime(2026, 3, 6)],
                                                 "kind": ["visit"], "outcome": ["completed"], "note": [""]})])
    assert store.add_call_log("c1", more) == 1
    by_date = pl.DataFrame({"customer_id": ["C000004"], "contacted_at": [date(2026, 3, 7)], "kind": ["call"],
                            "outcome": [None], "note": [""]})
    assert store.add_call_log("c1", by_date) == 1 and store.add_call_log("c1", by_date) == 0
    contacts = store.contacts("c1")
    assert contacts.height == 5 and set(contacts["origin"]) == {"call_log"}
    assert contacts.filter(pl.col("customer_id") == "C000004")["contacted_at"].to_list() == [datetime(2026, 3, 7)]
    assert contacts["customer_id"].to_list() == ["C000001", "C000002", "C000001", "C000003", "C000004"]
    with pytest.raises(CampaignError) as error:
        store.add_call_log("c1", log.drop("note"))
    assert (error.value.key, error.value.params) == ("campaigns.error.columns", {"columns": "note"})


def _count(url: str, table: sa.Table) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_delete_removes_members_and_contacts_and_only_the_owner_may(store, database_url):
    store.create(campaign("keep"), members(4))
    store.create(campaign("gone"), members(6))
    store.mark_done("gone", pl.DataFrame({"customer_id": ["C000001"], "done": [True], "outcome": ["ok"]}))
    store.add_call_log("gone", pl.DataFrame({"customer_id": ["C000002"], "contacted_at": [datetime(2026, 3, 3)],
                                             "kind": ["call"], "outcome": [None], "note": [""]}))
    for owner, key in (("owner-b", "campaigns.error.not_owner"), ("owner-a", "campaigns.error.not_found")):
        with pytest.raises(CampaignError) as error:
            store.delete("gone" if owner == "owner-b" else "missing", owner)
        assert error.value.key == key
    store.delete("gone", "owner-a")
    assert store.get("gone") is None and [s.campaign.id for s in store.list_campaigns()] == ["keep"]
    assert (_count(database_url, members_table), _count(database_url, contacts_table)) == (4, 0)
    store.delete("keep", None)  # an administrator
    assert store.list_campaigns() == [] and _count(database_url, members_table) == 0
    with pytest.raises(CampaignError) as error:
        store.groups("gone")
    assert error.value.key == "campaigns.error.not_found"


def test_rename_strips_checks_the_name_and_the_owner(store):
    store.create(campaign(), members(2))
    store.rename("c1", "  春季召回 第二轮 ", "owner-a")
    assert store.get("c1").name == "春季召回 第二轮"
    for bad in ("   ", "", "名" * (MAX_NAME + 1)):
        with pytest.raises(CampaignError) as error:
            store.rename("c1", bad, "owner-a")
        assert (error.value.key, error.value.params) == ("campaigns.error.name", {"max": MAX_NAME})
    store.rename("c1", "名" * MAX_NAME, None)
    assert store.get("c1").name == "名" * MAX_NAME
    with pytest.raises(CampaignError) as error:
        store.rename("c1", "mine now", "owner-b")
    assert error.value.key == "campaigns.error.not_owner"
    with pytest.raises(CampaignError) as error:
        store.rename("missing", "x", None)
    assert error.value.key == "campaigns.error.not_found"


def test_create_refuses_a_taken_id_a_bad_name_and_stores_nothing_then(store):
    stored = store.create(campaign(name="  padded  "), members(3))
    assert stored.name == "padded" and store.get("c1") == stored
    with pytest.raises(CampaignError) as error:
        store.create(campaign(name="again"), members(5))
    assert error.value.key == "campaigns.error.exists"
    with pytest.raises(CampaignError) as error:
        store.create(campaign("c2", name=" "), members(5))
    assert error.value.key == "campaigns.error.name"
    with pytest.raises(CampaignError) as error:
        store.create(campaign("c3"), members(5).drop("stratum"))
    assert (error.value.key, error.value.params) == ("campaigns.error.columns", {"columns": "stratum"})
    assert [s.campaign.id for s in store.list_campaigns()] == ["c1"] and store.groups("c1").height == 3


def _schema_differences(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "version_table": VERSION_TABLE})
            return [difference for difference in compare_metadata(context, METADATA)
                    if not (difference[0] == "remove_table" and difference[1].name == VERSION_TABLE)]
    finally:
        engine.dispose()


def _version(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    finally:
        engine.dispose()


def test_migrating_an_empty_database_makes_the_tables_and_again_changes_nothing(store, database_url):
    engine = sa.create_engine(database_url)
    assert sa.inspect(engine).get_table_names() == []
    store.migrate()
    assert set(sa.inspect(engine).get_table_names()) == {"campaigns", "campaign_members", "campaign_contacts",
                                                         VERSION_TABLE}
    engine.dispose()
    assert _schema_differences(database_url) == []  # the migration makes what the queries use
    assert _version(database_url) == ["0001"]
    store.create(campaign(), members(3))
    store.migrate()
    again = CampaignStore(database_url)
    again.migrate()
    assert again.get("c1") == campaign() and _version(database_url) == ["0001"]
    again.dispose()


CHILD = """
import sys
from datetime import date, datetime, UTC
import polars as pl
from crm_core.campaigns.model import Campaign
from crm_core.campaigns.store import CampaignStore
url, action, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = CampaignStore(url)
if action == "migrate":  # everything but the migration itself is done before the start
    from alembic import command  # noqa: F401
    import sqlalchemy as sa
    sa.create_engine(url).connect().close()
print("ready", flush=True)
sys.stdin.readline()  # every process starts at once
if action == "migrate":
    store.migrate()
else:
    for index in range(count):
        members = pl.DataFrame({"customer_id": [f"C{i:05d}" for i in range(2000)], "stratum": ["s"] * 2000,
                                "group": ["control" if i % 10 == 0 else "treatment" for i in range(2000)]})
        store.create(Campaign(f"{prefix}-{index}", f"{prefix} {index}", "retain", date(2026, 3, 2), 60, 0.1,
                              index, "segment", "champions", datetime.now(UTC), "owner-p"), members)
store.dispose()
print("done", flush=True)
"""


def _at_once(url: str, action: str, processes: int = 2, count: int = 0, before_go=None) -> None:
    """Start ``processes`` children, wait until each is ready, then let them all go together."""
    children = [subprocess.Popen([sys.executable, "-c", CHILD, url, action, f"p{number}", str(count)], cwd=ROOT,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for number in range(processes)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        if before_go is not None:
            before_go()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        if before_go is not None:
            before_go.join()
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0 and out.strip() == "done", err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


def test_processes_migrating_a_fresh_database_at_once(database_url):
    _at_once(database_url, "migrate", processes=4)
    assert _version(database_url) == ["0001"] and _schema_differences(database_url) == []


class _Threads:
    """Threads that each create campaigns through one shared store, released together."""

    def __init__(self, store: CampaignStore, threads: int, count: int) -> None:
        self.errors: list[BaseException] = []
        self.gate = threading.Event()
        self.workers = [threading.Thread(target=self._work, args=(store, number, count)) for number in range(threads)]
        for worker in self.workers:
            worker.start()

    def _work(self, store: CampaignStore, number: int, count: int) -> None:
        self.gate.wait()
        try:
            for index in range(count):
                store.create(campaign(f"t{number}-{index}", created=datetime.now(UTC)), members(2000))
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def __call__(self) -> None:
        self.gate.set()

    def join(self) -> None:
        for worker in self.workers:
            worker.join(timeout=120)


def test_threads_and_processes_creating_campaigns_at_once_lose_none(store, database_url):
    threads = _Threads(store, threads=6, count=3)  # on a fresh database: the first writers migrate it too
    _at_once(database_url, "create", processes=2, count=5, before_go=threads)
    assert threads.errors == []
    listed = store.list_campaigns()
    assert len(listed) == 6 * 3 + 2 * 5
    assert {summary.campaign.id for summary in listed} == (
        {f"t{n}-{i}" for n in range(6) for i in range(3)} | {f"p{n}-{i}" for n in range(2) for i in range(5)})
    assert {(summary.treatment, summary.control) for summary in listed} == {(1800, 200)}


PASSWORD = "s3cret-Pässw0rd"


def _storage_error(url: str) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        broken = CampaignStore(url)
        try:
            broken.list_campaigns()
        finally:
            broken.dispose()
    error = caught.value
    assert error.key == "campaigns.error.storage" and set(error.params) == {"detail"}
    for shown in (str(error), repr(error), error.params["detail"], str(error.args)):
        assert PASSWORD not in shown and "Traceback" not in shown
    return error


def _free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_urls_that_cannot_work_give_a_storage_error_without_the_password():
    for url in (f"not a url {PASSWORD}", f"oracle://user:{PASSWORD}@127.0.0.1/db",
                f"postgresql+nosuchdriver://user:{PASSWORD}@127.0.0.1/db",
                f"postgresql+psycopg://user:{PASSWORD}@127.0.0.1:{_free_port()}/crm"):
        _storage_error(url)
    assert "refused" in _storage_error(f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:{_free_port()}/x").params["detail"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_that_cannot_be_opened_gives_a_storage_error(backend, tmp_path, request):
    if backend == "sqlite":
        _storage_error(sqlite_url(tmp_path / "no such folder" / "campaigns.sqlite"))
        return
    server = sa.make_url(request.getfixturevalue("postgres_url"))
    for url in (server.set(username="nobody_here", password=PASSWORD), server.set(database="no_such_db",
                                                                                  password=PASSWORD)):
        detail = _storage_error(url.render_as_string(hide_password=False)).params["detail"]
        assert "does not exist" in detail, detail


def test_default_url_reads_the_environment_and_the_store_lives_in_the_data_dir(tmp_path):
    assert default_url(tmp_path, {"CRM_CAMPAIGNS_URL": " postgresql+psycopg://crm@db/crm "}) == \
        "postgresql+psycopg://crm@db/crm"
    assert default_url(tmp_path, {"CRM_CAMPAIGNS_URL": ""}) == sqlite_url(tmp_path / "campaigns.sqlite")
    folder = tmp_path / "新 文件夹"
    store = CampaignStore.for_data_dir(folder)
    store.create(campaign(), members(2))
    store.dispose()
    assert (folder / "campaigns.sqlite").is_file()
    assert CampaignStore.for_data_dir(folder).get("c1") == campaign()
