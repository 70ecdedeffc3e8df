"""The digest as cron runs it: ``python -m crm_core.digest … --smtp`` sends to a real SMTP server (aiosmtpd on
127.0.0.1) and the message is read back — subject and bodies in the language, CJK intact, the workbook
attached. Its figures are the core's: the overview's KPIs, the set difference of two risk views, the RFM
segments at two dates and a stored campaign's verdict. Bad input ends with a translated sentence, exit 2.
"""
import email
import io
import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from aiosmtpd.controller import Controller

from crm_core import store
from crm_core.campaigns import design
from crm_core.campaigns.model import Campaign
from crm_core.campaigns.store import CampaignStore
from crm_core.dataset import load_sample
from crm_core.features import customer_summary
from crm_core.sample import simulate_campaign
from crm_core.segmentation import rfm
from crm_core.views import overview
from crm_core.views.churn import risk_view
from ui.i18n import format_date, format_money, translate

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 1, 1)            # the day after the sample's last order
START = date(2025, 12, 2)               # --since 30d: 2025-12-02 … 2025-12-31
CAMPAIGN_START = date(2025, 9, 15)      # a 90-day window whose last day, 2025-12-13, is in the period
SECTIONS = ("kpis", "newly_high", "newly_at_risk", "newly_champions", "calls", "campaigns")


class Keep:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _mail_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_SMTP_", "CRM_CAMPAIGNS_URL"))}
    return env | {"CRM_DATA_DIR": str(data_dir), "CRM_SMTP_HOST": "127.0.0.1", "CRM_SMTP_PORT": str(port),
                  "CRM_SMTP_FROM": "crm@example.com", "CRM_SMTP_TO": "boss@example.com, 经理 <lead@example.com>",
                  "CRM_SMTP_STARTTLS": "0"}


def _digest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_core.digest", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _read_back(handler: Keep):
    assert len(handler.messages) == 1
    sender, recipients, raw = handler.messages[0]
    assert sender == "crm@example.com" and recipients == ("boss@example.com", "lead@example.com")
    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    attachments = list(message.iter_attachments())
    assert message.get_content_type() == "multipart/mixed" and len(attachments) == 1
    assert message.get_body(("plain", "html")) is not None
    book = openpyxl.load_workbook(io.BytesIO(attachments[0].get_content()), read_only=True)
    return message, text, page, attachments[0], book


def _sheet_names(lang: str) -> list[str]:
    segment = lambda key: translate(lang, f"segmentation.segment.{key}")
    titles = {key: translate(lang, f"digest.section.{key}") for key in SECTIONS}
    titles["newly_at_risk"] = translate(lang, "digest.section.newly_at_risk", segment=segment("at_risk"))
    titles["newly_champions"] = translate(lang, "digest.section.newly_champions", segment=segment("champions"))
    return [titles[key][:31] for key in SECTIONS]


def _rows(book, sheet: str) -> list[dict]:
    rows = list(book[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


# ---------------------------------------------------------------- a saved dataset with a campaign, in Chinese

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The sample with a win-back campaign's effect (30 % of the contacted came back), saved by id, and the
    campaign in the data directory's store."""
    data_dir = tmp_path_factory.mktemp("data")
    sample = load_sample()
    lapsing = customer_summary(sample.transactions, datetime(2025, 9, 15)).filter(pl.col("recency_days") > 60)
    members = lapsing.select("customer_id", pl.lit("").alias("stratum"))
    campaign = Campaign(id="c-digest", name="冬季挽回 Win-back", goal="win_back", start=CAMPAIGN_START, window_days=90,
                        control_share=0.2, seed=7, source="at_risk", source_detail="high",
                        created=datetime(2025, 9, 14, tzinfo=UTC), owner="o", currency="CNY")
    groups = design.assign_groups(members, campaign.control_share, campaign.seed)
    treated = groups.filter(pl.col("group") == "treatment")["customer_id"].to_list()
    later, _ = simulate_campaign(sample, treated, CAMPAIGN_START, 90, 0.3, seed=7)
    dataset_id = store.save(later, data_dir, "样本（活动后）", created=datetime(2026, 1, 1, tzinfo=UTC))
    campaigns = CampaignStore.for_data_dir(data_dir)
    campaigns.create(Campaign(**{**campaign.__dict__, "dataset_id": dataset_id}), groups)
    # another dataset's campaign, and one whose window ends after the period: neither is in the digest
    campaigns.create(Campaign(**{**campaign.__dict__, "id": "c-other", "name": "其他数据 other",
                                 "dataset_id": "0" * 32}), groups)
    campaigns.create(Campaign(**{**campaign.__dict__, "id": "c-open", "name": "仍在进行 open",
                                 "start": date(2025, 11, 1), "dataset_id": dataset_id}), groups)
    campaigns.dispose()
    return data_dir, dataset_id


def test_a_saved_dataset_is_sent_in_chinese_with_its_campaign_verdict(saved, smtp, tmp_path):
    data_dir, dataset_id = saved
    controller, handler = smtp
    out = tmp_path / "out"
    done = _digest("--dataset", dataset_id, "--since", "30d", "--lang", "zh", "--out", str(out), "--smtp",
                   env=_mail_env(data_dir, controller.port))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["digest-2025-12-31-zh.html", "digest-2025-12-31-zh.xlsx"]

    message, text, page, attachment, book = _read_back(handler)
    dates = dict(start=format_date(START, "zh"), end=format_date(date(2025, 12, 31), "zh"))
    assert message["Subject"] == translate("zh", "digest.subject", dataset="样本（活动后）", **dates)
    assert message["Subject"].startswith("客户摘要：样本（活动后）")
    assert translate("zh", "digest.section.kpis") in text and "核心指标" in text
    assert '<html lang="zh-CN">' in page and 'data-section="kpis"' in page and 'data-section="calls"' in page
    assert "<script" not in page.lower() and "src=" not in page and "<link" not in page
    assert "冬季挽回 Win-back" in page and "其他数据" not in page and "仍在进行" not in page
    worked = translate("zh", "campaigns.verdict.worked").split("**")[1]   # the page's bold first sentence
    assert f"<strong>{worked}</strong>" in page and worked in text and f"**{worked}**" not in text
    assert "<strong>" not in page.split('data-section="campaigns"')[0]   # a masked phone's **** stays text
    assert page.rstrip("\n") == (out / "digest-2025-12-31-zh.html").read_text("utf-8")
    assert attachment.get_filename() == "digest-2025-12-31-zh.xlsx"
    assert book.sheetnames == _sheet_names("zh")
    [row] = _rows(book, book.sheetnames[-1])
    assert row[translate("zh", "campaigns.column.name")] == "冬季挽回 Win-back"
    assert row[translate("zh", "digest.column.ci_low")] > 0   # the effect is real: the interval excludes zero
    assert row[translate("zh", "digest.column.verdict")].startswith(worked)


# ---------------------------------------------------------------- the sample, in English, against the core

def test_the_sample_is_sent_in_english_and_its_figures_are_the_cores(smtp, tmp_path):
    controller, handler = smtp
    empty = tmp_path / "data"
    done = _digest("--since", "30d", "--lang", "en", "--out", str(tmp_path / "out"), "--smtp",
                   env=_mail_env(empty, controller.port))
    assert done.returncode == 0, done.stderr
    assert not (empty / "campaigns.sqlite").exists()   # no campaign store is made by a digest
    message, text, page, _, book = _read_back(handler)
    assert message["Subject"] == translate("en", "digest.subject", dataset=translate("en", "digest.sample_name"),
                                           start="Dec 2, 2025", end="Dec 31, 2025")
    assert '<html lang="en">' in page and "Headline figures" in text and 'data-section="calls"' in page
    assert "南" in page or "华" in page   # the sample's Chinese names stay intact in an English digest
    assert book.sheetnames == _sheet_names("en")

    sample = load_sample()
    figures = overview.kpis(sample, START, date(2025, 12, 31))
    kpis = {row["Figure"]: row for row in _rows(book, "Headline figures")}
    assert kpis["Customers"]["This period"] == figures["customers"][0]
    assert kpis["Revenue"]["This period"] == pytest.approx(figures["revenue"][0])
    assert kpis["Revenue"]["Previous period"] == pytest.approx(figures["revenue"][1])
    assert format_money(figures["revenue"][0], "en", "CNY") in page   # the e-mail writes it as the Overview does
    assert kpis["Repeat-purchase rate"]["Change (points)"] == pytest.approx(
        (figures["repeat_rate"][0] - figures["repeat_rate"][1]) * 100)

    now, before = risk_view(sample, AS_OF, 90).scored, risk_view(sample, datetime(2025, 12, 2), 90).scored
    high = set(now.filter(pl.col("risk_tier") == "high")["customer_id"]) - set(
        before.filter(pl.col("risk_tier") == "high")["customer_id"])
    listed = {row["Customer ID"] for row in _rows(book, book.sheetnames[1])}
    assert high and listed == high
    value = float(now.filter(pl.col("customer_id").is_in(list(high)))["value_at_risk"].sum())
    assert format_money(value, "en", "CNY") in page

    segment_now = rfm(customer_summary(sample.transactions, AS_OF), preset="standard")
    segment_then = rfm(customer_summary(sample.transactions, datetime(2025, 12, 2)), preset="standard")
    for sheet, segment in ((book.sheetnames[2], "at_risk"), (book.sheetnames[3], "champions")):
        moved = set(segment_now.filter(pl.col("segment") == segment)["customer_id"]) - set(
            segment_then.filter(pl.col("segment") == segment)["customer_id"])
        assert moved and {row["Customer ID"] for row in _rows(book, sheet)} == moved

    calls = _rows(book, "Win-back calls")
    assert len(calls) == 20 and all(row["Reasons"] for row in calls)
    masked = set(now["phone"].drop_nulls())   # the risk view's phones, masked like every download
    assert all(row["Phone"] is None or ("****" in row["Phone"] and row["Phone"] in masked) for row in calls)
    assert [row["Customer ID"] for row in calls] == now.sort(
        ["value_at_risk", "customer_id"], descending=[True, False])["customer_id"].head(20).to_list()


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bad_input_is_a_translated_sentence_and_exit_2(tmp_path, lang):
    env = _mail_env(tmp_path, _free_port())
    unknown = _digest("--dataset", "f" * 32, "--lang", lang, "--out", str(tmp_path), env=env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip() == translate(lang, "digest.error.dataset_not_found", id="f" * 32)
    since = _digest("--since", "7x", "--lang", lang, "--out", str(tmp_path), env=env)
    assert since.returncode == 2 and since.stderr.strip() == translate(lang, "digest.error.since", value="7x")
    missing = _digest("--lang", lang, "--smtp", env={k: v for k, v in env.items() if k != "CRM_SMTP_HOST"})
    assert missing.returncode == 2 and missing.stderr.strip() == translate(
        lang, "digest.error.smtp_settings", names="CRM_SMTP_HOST")


def test_an_unreachable_mail_server_is_a_translated_sentence_and_exit_2(tmp_path):
    port = _free_port()   # nothing listens there
    done = _digest("--since", "7d", "--lang", "zh", "--smtp", env=_mail_env(tmp_path, port))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    prefix = translate("zh", "digest.error.smtp_unreachable", host="127.0.0.1", port=port, detail="@").split("@")[0]
    assert done.stderr.startswith(prefix), done.stderr
