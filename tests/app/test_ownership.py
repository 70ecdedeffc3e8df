"""AppTest of who owns a saved dataset: the saver lists and manages it, a colleague only opens it by link,
an administrator manages all; a signed-in user owns what they save, in every browser.

(Each ``app()`` is a new browser session. AppTest cannot send cookies, so "the same browser later" is the
same owner token seeded into the session, as the ``crm_owner`` cookie would bring it; the browser test
``tests/browser/test_ownership.py`` checks the cookie itself.)
"""
from __future__ import annotations

import hashlib

import pytest

from crm_core import store
from tests.app.helpers import TINY_ORDERS, app, assert_healthy, texts

BROWSER_A = "a" * 32
BROWSER_B = "b" * 32


def saved_from(token: str, name: str = "华东 五月", lang: str = "en") -> tuple[object, str]:
    at = app(page="data", session={"_owner_token": token}, query={"lang": lang})
    at.file_uploader(key="upload_transactions").set_value(("订单.csv", TINY_ORDERS, "text/csv")).run()
    at.button(key="use_data").click().run()
    next(box for box in at.text_input if box.label in ("Name", "名称")).set_value(name)
    at.button(key="FormSubmitter:save_form-" + ("Save and share" if lang == "en" else "保存并分享")).click().run()
    assert_healthy(at)
    return at, at.session_state["dataset_id"]


def listed(at) -> set[str]:
    return {b.key.removeprefix("open_") for b in at.button if b.key and b.key.startswith("open_")}


def test_the_saver_lists_renames_and_deletes_a_colleague_cannot(data_dir):
    _, dataset_id = saved_from(BROWSER_A)
    meta = store.read_meta(data_dir, dataset_id)
    assert meta["owner"] == hashlib.sha256(("browser:" + BROWSER_A).encode()).hexdigest()
    assert BROWSER_A not in (data_dir / dataset_id / "meta.json").read_text("utf-8")  # a hash, never the token

    later = app(page="data", session={"_owner_token": BROWSER_A})  # the same browser, another day
    assert listed(later) == {dataset_id}
    later.text_input(key=f"name_{dataset_id}").set_value("华东 六月")
    later.button(key=f"rename_{dataset_id}").click().run()
    assert store.read_meta(data_dir, dataset_id)["name"] == "华东 六月"

    colleague = app(page="data", session={"_owner_token": BROWSER_B})
    assert listed(colleague) == set() and "No saved datasets yet." in texts(colleague)
    assert not [b for b in colleague.button if b.key and b.key.startswith(("rename_", "delete_"))]

    by_link = app(query={"ds": dataset_id}, page="data", session={"_owner_token": BROWSER_B})
    assert_healthy(by_link)
    assert by_link.session_state["dataset_id"] == dataset_id  # the link opens it …
    assert listed(by_link) == set()                           # … but it is not theirs to list or delete
    assert "华东 六月" in texts(by_link)

    mine = app(page="data", session={"_owner_token": BROWSER_A})
    mine.button(key=f"delete_{dataset_id}").click().run()
    assert_healthy(mine)
    assert store.list_saved(data_dir) == []


def test_a_colleague_changing_the_currency_changes_only_their_view(data_dir):
    _, dataset_id = saved_from(BROWSER_A)
    colleague = app(query={"ds": dataset_id}, page="data", session={"_owner_token": BROWSER_B})
    box = next(b for b in colleague.selectbox if b.key and b.key.startswith("data_currency_"))
    assert "Whoever saved the dataset" in box.help
    box.select("EUR").run()
    assert_healthy(colleague)
    assert store.read_meta(data_dir, dataset_id)["currency"] != "EUR"
    assert colleague.query_params.get("cur") == "EUR"  # their view's link carries it


@pytest.mark.parametrize("lang, wrong, all_text", [
    ("en", "That administrator password is not right.", "Administrator: every saved dataset"),
    ("zh", "管理员密码不正确。", "管理员：本服务器上所有保存的数据集"),
])
def test_an_administrator_signs_in_and_manages_every_dataset(data_dir, monkeypatch, lang, wrong, all_text):
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "root of trust")
    _, first = saved_from(BROWSER_A, lang=lang)
    _, second = saved_from(BROWSER_B, lang=lang)
    admin = app(page="data", query={"lang": lang}, session={"_owner_token": "c" * 32})
    assert listed(admin) == set()
    form = "FormSubmitter:admin_sign_in-" + ("Sign in as administrator" if lang == "en" else "以管理员身份登录")
    password = next(box for box in admin.text_input if box.label in ("Administrator password", "管理员密码"))
    password.set_value("guess")
    admin.button(key=form).click().run()
    assert wrong in texts(admin) and listed(admin) == set()
    password = next(box for box in admin.text_input if box.label in ("Administrator password", "管理员密码"))
    password.set_value("root of trust")
    admin.button(key=form).click().run()
    assert_healthy(admin)
    assert listed(admin) == {first, second} and all_text in texts(admin)
    assert ("another browser" if lang == "en" else "另一个浏览器") in texts(admin)
    admin.button(key=f"delete_{first}").click().run()
    assert [info.dataset_id for info in store.list_saved(data_dir)] == [second]


def test_without_an_administrator_password_there_is_no_administrator_form(data_dir, monkeypatch):
    monkeypatch.delenv("CRM_ADMIN_PASSWORD", raising=False)
    at = app(page="data")
    assert not [f for f in at.get("form") if getattr(f, "form_id", "") == "admin_sign_in"]
    assert "Administrator" not in [e.label for e in at.expander]


def test_a_signed_in_user_owns_what_they_save_in_any_browser(data_dir, monkeypatch):
    user = {"is_logged_in": True, "email": "Li.Wei@example.com"}
    at = app(page="data", user=user, session={"_owner_token": BROWSER_A})
    at.file_uploader(key="upload_transactions").set_value(("订单.csv", TINY_ORDERS, "text/csv")).run()
    at.button(key="use_data").click().run()
    at.button(key="FormSubmitter:save_form-Save and share").click().run()
    dataset_id = at.session_state["dataset_id"]
    assert store.read_meta(data_dir, dataset_id)["owner_name"] == "Li.Wei@example.com"
    elsewhere = app(page="data", user={"is_logged_in": True, "email": "li.wei@example.com"},
                    session={"_owner_token": BROWSER_B})
    assert listed(elsewhere) == {dataset_id}
    assert listed(app(page="data", session={"_owner_token": BROWSER_A})) == set()  # signed out: not this browser's
    monkeypatch.setenv("CRM_ADMINS", "boss@example.com, ops@example.com")
    boss = app(page="data", user={"is_logged_in": True, "email": "boss@example.com"})
    assert listed(boss) == {dataset_id} and "Li.Wei@example.com" in texts(boss)
