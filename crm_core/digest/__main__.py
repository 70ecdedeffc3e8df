"""``python -m crm_core.digest``: write the digest as HTML and .xlsx, and/or send it by e-mail (cron).

    python -m crm_core.digest --dataset ID --since 7d --lang zh --out DIR [--smtp] [--as-of 2026-01-01]

``--dataset``: a saved dataset's id in ``CRM_DATA_DIR`` (default ``data``); ``sample`` or none: the built-in
sample. ``--since``: the period's length, ``7d``, ``2w``, ``1m`` (30 days) …; ``--as-of``: the analysis date
(orders strictly before it count; default the day after the data's last order). ``--out DIR`` writes
``digest-<last day>-<lang>.html`` and ``.xlsx``. ``--smtp`` sends a multipart/alternative e-mail (text and
HTML) with the workbook attached, to the server in ``CRM_SMTP_HOST``, ``CRM_SMTP_PORT`` (25),
``CRM_SMTP_USER`` / ``CRM_SMTP_PASSWORD`` (optional), ``CRM_SMTP_FROM``, ``CRM_SMTP_TO`` (comma-separated),
``CRM_SMTP_STARTTLS`` (1/0). Campaigns come from the data directory's campaign store (``CRM_CAMPAIGNS_URL``
when set), those made on the same dataset.

Bad input (an unknown dataset, a bad ``--since`` or ``--as-of``, missing or refused mail settings, an
unreachable server) ends with a sentence in the chosen language on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import os
import re
import smtplib
import ssl
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any, cast

from crm_core import store
from crm_core.campaigns.model import CampaignError
from crm_core.campaigns.store import SQLITE_FILE, URL_VARIABLE, CampaignStore, default_url
from crm_core.dataset import Dataset, load_sample
from crm_core.digest import CALLS, Rendered, build, ended_in, period, render
from crm_core.views.churn import DEFAULT_HORIZON, HORIZONS
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

EXIT_INPUT = 2
SAMPLE = "sample"
UNITS = {"d": 1, "w": 7, "m": 30}   # --since units in days: a "month" is 30 days
XLSX = "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SMTP_TIMEOUT_SECONDS = 30


class DigestInputError(Exception):
    """Input the digest cannot use: ``key`` (``digest.error.*``) and its fields."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key, self.params = key, params


def since_days(text: str) -> int:
    """``7d`` → 7, ``2w`` → 14, ``1m`` → 30; a bare number is days. ``digest.error.since`` otherwise."""
    found = re.fullmatch(r"\s*(\d{1,4})\s*([dwm]?)\s*", text.lower())
    days = int(found.group(1)) * UNITS[found.group(2) or "d"] if found else 0
    if days < 1:
        raise DigestInputError("digest.error.since", value=text)
    return days


def _as_of(text: str | None, dataset: Dataset) -> datetime:
    if text is None:
        last = cast("datetime | None", dataset.transactions["order_date"].max())
        if last is None:
            raise DigestInputError("digest.error.no_orders")
        return datetime(last.year, last.month, last.day) + timedelta(days=1)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise DigestInputError("digest.error.as_of", value=text) from None
    return datetime(day.year, day.month, day.day)


def _dataset(dataset_id: str | None, data_dir: Path) -> tuple[Dataset, str | None]:
    """The dataset and its saved id (None: the sample)."""
    if dataset_id in (None, "", SAMPLE):
        return load_sample(), None
    try:
        dataset, _ = store.load(data_dir, dataset_id)
    except store.StoreError as error:
        damaged = error.args[0] == "store.error.damaged" if error.args else False
        raise DigestInputError("digest.error.dataset_damaged" if damaged else "digest.error.dataset_not_found",
                               id=dataset_id) from None
    return dataset, dataset_id


def _campaigns(data_dir: Path, dataset_id: str | None, as_of: datetime, days: int,
               environ: Mapping[str, str]) -> list[tuple[Any, Any, Any]]:
    """The stored campaigns made on this dataset whose window ended in the period, with groups and contacts.
    No store yet (no campaign ever made in this data directory): none, and none is created."""
    url = default_url(data_dir, environ)
    if not (environ.get(URL_VARIABLE) or "").strip() and not (data_dir / SQLITE_FILE).exists():
        return []
    campaigns = CampaignStore(url)
    try:
        when = period(as_of, days)
        chosen = [summary.campaign for summary in campaigns.list_campaigns()
                  if summary.campaign.dataset_id == dataset_id and ended_in(summary.campaign, when)]
        return [(campaign, campaigns.groups(campaign.id), campaigns.contacts(campaign.id)) for campaign in chosen]
    finally:
        campaigns.dispose()


def write_files(rendered: Rendered, out: Path, day: date) -> list[Path]:
    """``digest-<day>-<lang>.html`` and ``.xlsx`` in ``out`` (made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"digest-{day.isoformat()}-{rendered.lang}"
    page, workbook = stem.with_suffix(".html"), stem.with_suffix(".xlsx")
    page.write_text(rendered.html, encoding="utf-8")
    workbook.write_bytes(rendered.workbook)
    return [page, workbook]


def smtp_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The mail settings from ``CRM_SMTP_*``; ``digest.error.smtp_settings`` names the missing ones."""
    get = lambda name: (environ.get(f"CRM_SMTP_{name}") or "").strip()
    missing = [f"CRM_SMTP_{name}" for name in ("HOST", "FROM", "TO") if not get(name)]
    if missing:
        raise DigestInputError("digest.error.smtp_settings", names=", ".join(missing))
    recipients = [address for _, address in getaddresses([get("TO")]) if address]
    port_text = get("PORT") or "25"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not recipients:
        raise DigestInputError("digest.error.smtp_settings", names="CRM_SMTP_PORT" if recipients else "CRM_SMTP_TO")
    return {"host": get("HOST"), "port": int(port_text), "user": get("USER"),
            "password": environ.get("CRM_SMTP_PASSWORD", ""), "sender": get("FROM"), "to": recipients,
            "starttls": get("STARTTLS").lower() in ("1", "true", "yes")}


def message(rendered: Rendered, sender: str, recipients: Sequence[str], attachment_name: str) -> EmailMessage:
    """A multipart/alternative e-mail (text, then HTML) with the workbook attached; UTF-8 headers."""
    mail = EmailMessage()
    mail["Subject"] = rendered.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Content-Language"] = "zh-CN" if rendered.lang == "zh" else rendered.lang
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    mail.add_attachment(rendered.workbook, maintype=XLSX[0], subtype=XLSX[1], filename=attachment_name)
    return mail


def send(mail: EmailMessage, settings: Mapping[str, Any]) -> None:
    """Send through the server; ``digest.error.smtp_unreachable`` / ``smtp_refused`` when it fails."""
    where = dict(host=settings["host"], port=settings["port"])
    try:
        with smtplib.SMTP(settings["host"], settings["port"], timeout=SMTP_TIMEOUT_SECONDS) as server:
            if settings["starttls"]:
                server.starttls(context=ssl.create_default_context())
            if settings["user"]:
                server.login(settings["user"], settings["password"])
            server.send_message(mail, from_addr=settings["sender"], to_addrs=list(settings["to"]))
    except smtplib.SMTPException as error:
        raise DigestInputError("digest.error.smtp_refused", **where, detail=_detail(error)) from None
    except (TimeoutError, OSError) as error:
        raise DigestInputError("digest.error.smtp_unreachable", **where, detail=_detail(error)) from None


def _detail(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {text}"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="python -m crm_core.digest",
                                       description="Write the customer digest (HTML + Excel) and/or e-mail it.")
    commands.add_argument("--dataset", help="saved dataset id in CRM_DATA_DIR (default: the built-in sample)")
    commands.add_argument("--since", default="7d", help="period length: 7d, 30d, 2w, 1m (30 days) … (default 7d)")
    commands.add_argument("--as-of", dest="as_of", help="analysis date YYYY-MM-DD (default: day after the last order)")
    commands.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    commands.add_argument("--out", type=Path, help="folder for digest-<date>-<lang>.html and .xlsx")
    commands.add_argument("--smtp", action="store_true", help="send it by e-mail (CRM_SMTP_* settings)")
    commands.add_argument("--horizon", type=int, choices=HORIZONS, default=DEFAULT_HORIZON,
                          help="churn horizon in days (default %(default)s)")
    commands.add_argument("--calls", type=int, default=CALLS, help="win-back calls listed (default %(default)s)")
    return commands


def run(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = parser().parse_args(argv)
    try:
        if args.out is None and not args.smtp:
            raise DigestInputError("digest.error.nothing_to_do")
        days = since_days(args.since)
        settings = smtp_settings(environ) if args.smtp else None
        data_dir = Path(environ.get("CRM_DATA_DIR", "data"))
        dataset, dataset_id = _dataset(args.dataset, data_dir)
        as_of = _as_of(args.as_of, dataset)
        try:
            campaigns = _campaigns(data_dir, dataset_id, as_of, days, environ)
        except CampaignError as error:
            raise DigestInputError("digest.error.campaigns",
                                   detail=translate(args.lang, error.key, **error.params)) from None
        digest = build(dataset, as_of, days, args.horizon, campaigns)
        label = translate(args.lang, "digest.sample_name") if dataset_id is None else None
        rendered = render(digest, args.lang, calls=max(args.calls, 0), label=label)
        name = f"digest-{digest.period.end.isoformat()}-{args.lang}"
        if args.out is not None:
            for path in write_files(rendered, args.out, digest.period.end):
                print(path)
        if settings is not None:
            send(message(rendered, settings["sender"], settings["to"], f"{name}.xlsx"), settings)
            print(translate(args.lang, "digest.sent", to=", ".join(settings["to"])))
    except DigestInputError as error:
        print(translate(args.lang, error.key, **error.params), file=sys.stderr)
        return EXIT_INPUT
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
