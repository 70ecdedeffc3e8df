"""A campaign's whole loop in a real browser, in Chinese and then English.

A manager opens the data as it stood on 2025-07-01 (a saved dataset), starts a campaign from the Churn
page's high-risk list, downloads the contact list (the control group is not in it), "calls" those customers
— the sample generator reads the downloaded file and brings each back with probability 0.3 — then uploads
the newer data on the Data page and reads the verdict on the Campaigns page.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl

from crm_core import store
from crm_core.campaigns.store import CampaignStore
from crm_core.dataset import load_sample
from crm_core.sample import cut
from tests.browser.conftest import assert_no_errors, download, free_port, settle, shot, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 7, 1)


def test_create_download_load_later_data_and_read_the_verdict(browser, tmp_path):
    data_dir = tmp_path / "data"
    dataset_id = store.save(cut(load_sample(), START), data_dir, "截至七月", created=datetime(2026, 12, 1))
    port = free_port()
    server = start_server(data_dir, port)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/churn?ds={dataset_id}&lang=zh&ch_tier=high&asof={START.isoformat()}")
        settle(page, timeout=180_000)
        assert_no_errors(page)

        form = page.locator('[data-testid="stExpander"]').filter(has_text="发起营销活动").first
        form.locator("summary").click()
        name = form.get_by_label("活动名称")
        name.fill("七月挽回")
        name.press("Tab")
        shot(page, "campaign_form_zh")
        form.get_by_role("button", name="创建活动").click()
        page.wait_for_url("**/campaigns**", timeout=60_000)
        settle(page)
        assert_no_errors(page)
        body = page.inner_text("body")
        assert "已创建活动“七月挽回”" in body and "还没有可衡量的数据" in body
        shot(page, "campaign_created_zh")

        [summary] = CampaignStore.for_data_dir(data_dir).list_campaigns()
        groups = CampaignStore.for_data_dir(data_dir).groups(summary.campaign.id)
        contacts_file = tmp_path / "contacts.csv"
        contacts = pl.read_csv(download(page, "下载 CSV", contacts_file), infer_schema=False)
        listed = set(contacts["客户编号"])
        assert listed == set(groups.filter(pl.col("group") == "treatment")["customer_id"])
        assert not listed & set(groups.filter(pl.col("group") == "control")["customer_id"])

        later = tmp_path / "later"
        made = subprocess.run(
            [sys.executable, "-m", "crm_core.sample", "--campaign-contacts", str(contacts_file), "--campaign-start",
             START.isoformat(), "--campaign-uplift", "0.3", "--campaign-seed", "7", "--out", str(later)],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr

        page.get_by_role("link", name="数据").first.click()
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            str(later / "transactions.csv"))
        settle(page, timeout=180_000)
        page.get_by_role("button", name="使用这份数据").click()
        settle(page)
        page.get_by_role("link", name="营销活动").first.click()
        settle(page, timeout=180_000)
        assert_no_errors(page)
        body = page.inner_text("body")
        assert "活动有效。" in body, body[:3000]
        assert "已联系组：成功率" in body
        shot(page, "campaign_verdict_zh")

        page.get_by_role("combobox", name="Language · 语言").click()
        page.get_by_role("option", name="English").click()
        settle(page)
        assert_no_errors(page)
        body = page.inner_text("body")
        assert "The campaign worked." in body and "Contacted: success rate" in body
        shot(page, "campaign_verdict_en")
        context.close()
    finally:
        stop_server(server)
