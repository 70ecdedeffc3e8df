"""The digest: what changed in the existing-customer base over the last period, ready to e-mail.

Built only from the view-models the pages draw, never from definitions of its own:
- headline figures against the previous period of equal length (:mod:`crm_core.views.overview`);
- customers newly in the churn-risk tier ``high``: high in :func:`crm_core.views.churn.risk_view` as of the
  analysis date, not high in the risk view as of the period's first day (both trained up to their date);
- customers newly in the RFM segments At risk and Champions (the standard map, the ``segment`` the same two
  risk views carry, :func:`crm_core.segmentation.rfm`);
- the win-back calls of the churn page's call list (:meth:`~crm_core.views.churn.RiskView.call_list`);
- campaigns whose window ended in the period, with the verdict of :func:`crm_core.views.campaigns.campaign_view`.

:func:`build` computes; :func:`render` writes it in one language as a subject, a plain-text body, an
e-mail-ready HTML page (inline styles, tables, no script, no external asset, every value escaped) and an
.xlsx workbook with one sheet per section (formula-safe, contacts masked). ``python -m crm_core.digest``
is the command (:mod:`crm_core.digest.__main__`).
"""
from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import xlsxwriter

from crm_core.campaigns.model import Campaign
from crm_core.churn import win_back_list
from crm_core.dataset import Dataset
from crm_core.export import money_header, neutralise
from crm_core.segmentation import PRESETS
from crm_core.views import overview
from crm_core.views.campaigns import CampaignView, campaign_view, verdict_phrases
from crm_core.views.churn import DEFAULT_HORIZON, SEGMENT_PRESET, RiskView, risk_table, risk_view
from ui.i18n import format_date, format_money, format_number, format_percent, format_points, phrase_text, translate

__all__ = ["CALLS", "ROWS_SHOWN", "NEW_SEGMENTS", "Period", "Digest", "Rendered", "period", "build", "render",
           "newly_in", "ended_in"]

CALLS = 20          # win-back calls listed (the churn page's capacity, for one digest)
ROWS_SHOWN = 20     # rows of each customer table in the e-mail; the workbook has them all
NEW_SEGMENTS = ("at_risk", "champions")   # standard RFM segments whose newcomers the digest lists
HIGH = "high"
HTML_LANG = {"en": "en", "zh": "zh-CN"}


@dataclass(frozen=True)
class Period:
    """The ``days`` whole days before ``as_of`` (``start`` … ``end``) and the equal period before them."""

    as_of: datetime
    start: date
    end: date
    prev_start: date
    prev_end: date

    @property
    def start_moment(self) -> datetime:
        """Midnight of the first day: the date the "before" state is taken at (orders strictly before it)."""
        return datetime(self.start.year, self.start.month, self.start.day)


def period(as_of: datetime, days: int) -> Period:
    """The period of ``days`` days that ends the day before ``as_of``, and the previous one of equal length
    (:func:`crm_core.views.overview.previous_period`)."""
    end = as_of.date() - timedelta(days=1)
    start = as_of.date() - timedelta(days=days)
    return Period(as_of, start, end, *overview.previous_period(start, end))


@dataclass(frozen=True, eq=False)
class Digest:
    """What the digest says about ``dataset`` over ``period``.

    ``kpis``: ``{figure: (this period, previous)}`` of :func:`crm_core.views.overview.kpis`; ``now`` and
    ``before``: the risk views as of the analysis date and as of the period's first day; ``newly_high``:
    rows of ``now.scored`` high now and not before (largest value at risk first); ``newly_in``: per segment
    of :data:`NEW_SEGMENTS`, rows of ``now.scored`` in it now and not before, with ``segment_before``;
    ``campaigns``: the measured campaigns whose window ended in the period.
    """

    dataset_name: str
    currency: str | None
    period: Period
    horizon_days: int
    kpis: dict[str, tuple[float | None, float | None]]
    now: RiskView
    before: RiskView
    newly_high: pl.DataFrame
    newly_in: dict[str, pl.DataFrame]
    campaigns: tuple[CampaignView, ...] = field(default=())


def newly_in(now: pl.DataFrame, before: pl.DataFrame, column: str, value: str) -> pl.DataFrame:
    """Rows of ``now`` whose ``column`` is ``value`` and was not in ``before`` (absent customers included),
    with the earlier value as ``<column>_before``; largest value at risk first."""
    earlier = before.select("customer_id", pl.col(column).alias(f"{column}_before"))
    return (now.filter(pl.col(column) == value)
            .join(earlier, on="customer_id", how="left")
            .filter(pl.col(f"{column}_before").ne_missing(value))
            .sort(["value_at_risk", "customer_id"], descending=[True, False], nulls_last=True))


def ended_in(campaign: Campaign, when: Period) -> bool:
    """Whether the campaign's window (orders on ``start`` ≤ day < ``end``) ended in the period: its last day
    falls on one of the period's days."""
    last_day = campaign.end - timedelta(days=1)
    return when.start <= last_day <= when.end


def build(dataset: Dataset, as_of: datetime, days: int, horizon_days: int = DEFAULT_HORIZON,
          campaigns: Iterable[tuple[Campaign, pl.DataFrame, pl.DataFrame]] = ()) -> Digest:
    """The digest of the ``days`` days before ``as_of``; ``campaigns``: ``(campaign, groups, contacts)`` as
    the campaign store gives them (those whose window ended in the period are measured)."""
    when = period(as_of, days)
    now = risk_view(dataset, as_of, horizon_days)
    before = risk_view(dataset, when.start_moment, horizon_days)
    measured = tuple(campaign_view(dataset, campaign, groups, contacts, cost_per_contact=campaign.cost_per_contact)
                     for campaign, groups, contacts in campaigns if ended_in(campaign, when))
    return Digest(
        dataset_name=dataset.name, currency=dataset.currency, period=when, horizon_days=horizon_days,
        kpis=overview.kpis(dataset, when.start, when.end),
        now=now, before=before,
        newly_high=newly_in(now.scored, before.scored, "risk_tier", HIGH).drop("risk_tier_before"),
        newly_in={segment: newly_in(now.scored, before.scored, "segment", segment) for segment in NEW_SEGMENTS},
        campaigns=measured)


# ---------------------------------------------------------------- rendering

Kind = str   # how a column is written: "text", "number", "money", "percent", "date", "points", and "markdown"
             # (a translated sentence with bold: **…**; never data, whose asterisks are a masked phone's)


@dataclass(frozen=True)
class Section:
    """One part of the digest: a heading, a sentence, and a table (``kinds`` says how to write each column)."""

    key: str
    title: str
    lead: str
    table: pl.DataFrame
    kinds: dict[str, Kind]
    shown: tuple[str, ...] = ()   # the columns the e-mail shows (empty: all); the workbook has every column
    numbers: pl.DataFrame | None = None   # the workbook's sheet when it differs from ``table`` (numbers, not text)


@dataclass(frozen=True)
class Rendered:
    """The digest in one language: the e-mail's subject, plain-text and HTML bodies, and the workbook."""

    lang: str
    subject: str
    text: str
    html: str
    workbook: bytes
    sheets: tuple[str, ...]


def _translator(lang: str) -> Callable[..., str]:
    return lambda key, **params: translate(lang, key, **params)


def _cell(value: Any, kind: Kind, lang: str, currency: str | None) -> str:
    if value is None:
        return ""
    if kind == "money":
        return format_money(value, lang, currency)
    if kind == "percent":
        return format_percent(value, lang)
    if kind == "number":
        return format_number(value, lang, 0 if float(value).is_integer() else 2)
    if kind == "date":
        return format_date(value, lang)
    if kind == "points":   # a difference of rates, stored in points
        return format_points(value / 100, lang)
    return str(value)


def _change_text(name: str, now: float | None, before: float | None, tr: Callable[..., str]) -> str:
    moved = overview.change(name, now, before)
    if moved is None:
        return "–"
    if moved.points:
        return tr("overview.delta_points", value=f"{moved.value * 100:+.1f}")
    return f"{moved.value * 100:+.1f}%"


def _kpi_section(digest: Digest, lang: str, tr: Callable[..., str]) -> Section:
    """Figures as the Overview page writes them, against the previous period."""
    now_col, before_col, change_col = tr("digest.column.now"), tr("digest.column.before"), tr("digest.column.change")
    figure_col = tr("digest.column.figure")
    points_col = tr("digest.column.change_points")
    rows, numbers = [], []
    for name, (now, before) in digest.kpis.items():
        kind = "money" if name in overview.MONEY else "percent" if name in overview.RATES else "number"
        rows.append({figure_col: tr(f"overview.kpi.{name}"), now_col: _cell(now, kind, lang, digest.currency),
                     before_col: _cell(before, kind, lang, digest.currency),
                     change_col: _change_text(name, now, before, tr)})
        moved = overview.change(name, now, before)
        numbers.append({figure_col: rows[-1][figure_col], now_col: now, before_col: before,
                        change_col: moved.value if moved is not None and not moved.points else None,
                        points_col: moved.value * 100 if moved is not None and moved.points else None})
    when = digest.period
    lead = tr("overview.period", start=format_date(when.start, lang), end=format_date(when.end, lang),
              prev_start=format_date(when.prev_start, lang), prev_end=format_date(when.prev_end, lang))
    schema = {figure_col: pl.String, now_col: pl.Float64, before_col: pl.Float64, change_col: pl.Float64,
              points_col: pl.Float64}
    return Section("kpis", tr("digest.section.kpis"), lead, pl.DataFrame(rows),
                   {figure_col: "text", now_col: "text", before_col: "text", change_col: "text"},
                   numbers=pl.DataFrame(numbers, schema=schema, orient="row"))


def _risk_columns(tr: Callable[..., str], keys: Sequence[str]) -> list[str]:
    return [tr(f"churn.column.{key}") for key in keys]


RISK_SHOWN = ("customer_id", "name", "risk_tier", "churn_probability", "value_at_risk", "reasons", "action", "owner",
              "phone")
RISK_KINDS = {"churn_probability": "percent", "value_at_risk": "money", "expected_value": "money",
              "recency_days": "number", "frequency": "number", "flag_count": "number"}


def _risk_section(key: str, table: pl.DataFrame, tr: Callable[..., str], lead: str,
                  extra: pl.DataFrame | None = None) -> Section:
    """Scored customers as the churn page lists them (``table``: :func:`crm_core.views.churn.risk_table`),
    with the ``extra`` columns after the first two."""
    if extra is not None:
        table = pl.concat([table.select(table.columns[:2]), extra, table.select(table.columns[2:])],
                          how="horizontal")
    shown = [c for c in table.columns[:2]] + list(extra.columns if extra is not None else [])
    shown += [c for c in _risk_columns(tr, RISK_SHOWN) if c in table.columns and c not in shown]
    kinds = {tr(f"churn.column.{name}"): kind for name, kind in RISK_KINDS.items()}
    return Section(key, tr(f"digest.section.{key}"), lead, table,
                   {c: kinds.get(c, "text") for c in table.columns}, shown=tuple(shown))


def _sections(digest: Digest, lang: str, calls: int) -> list[Section]:
    tr = _translator(lang)
    money = lambda value: format_money(value, lang, digest.currency)
    since = format_date(digest.period.start, lang)
    high = digest.newly_high
    listed = lambda rows: risk_table(rows, digest.now.with_model, tr)
    sections = [
        _kpi_section(digest, lang, tr),
        _risk_section("newly_high", listed(high), tr, tr(
            "digest.lead.newly_high", count=format_number(high.height, lang), since=since,
            value=money(float(high["value_at_risk"].sum())))),
    ]
    for segment, rows in digest.newly_in.items():
        before_col = tr("digest.column.segment_before")
        earlier = rows.select(pl.col("segment_before").replace_strict(
            _segment_names(tr), default=pl.col("segment_before"), return_dtype=pl.String)
            .fill_null(tr("digest.segment_none")).alias(before_col))
        named = tr(f"segmentation.segment.{segment}")
        section = _risk_section(f"newly_{segment}", listed(rows), tr, tr(
            f"digest.lead.newly_{segment}", count=format_number(rows.height, lang), since=since, segment=named,
            value=money(float(rows["value_at_risk"].sum()))), extra=earlier)
        sections.append(replace(section, title=tr(f"digest.section.newly_{segment}", segment=named)))
    call_rows = digest.now.call_list(calls, tr)
    sections.append(_risk_section("calls", call_rows, tr, tr(
        "digest.lead.calls", count=format_number(call_rows.height, lang),
        value=money(float(win_back_list(digest.now.scored, calls)["value_at_risk"].sum())))))
    sections.append(_campaign_section(digest, lang, tr))
    return sections


def _segment_names(tr: Callable[..., str]) -> dict[str, str]:
    return {key: tr(f"segmentation.segment.{key}") for key in PRESETS[SEGMENT_PRESET].segments}


def verdict_text(view: CampaignView, lang: str) -> str:
    """The Campaigns page's plain-language verdict (:func:`crm_core.views.campaigns.verdict_phrases`),
    markdown bold kept as ``**``."""
    _, sentences, _ = verdict_phrases(view)
    return " ".join(phrase_text(lang, sentence) for sentence in sentences)


def _campaign_section(digest: Digest, lang: str, tr: Callable[..., str]) -> Section:
    """Campaigns whose window ended in the period: the page's verdict and the difference with its interval."""
    col = {key: tr(f"campaigns.column.{key}") for key in ("name", "goal", "start", "end", "treatment", "control")}
    col |= {key: tr(f"digest.column.{key}") for key in ("rate_diff", "ci_low", "ci_high", "verdict")}
    rows = [{col["name"]: view.campaign.name, col["goal"]: tr(f"campaigns.goal.{view.campaign.goal}"),
             col["start"]: view.campaign.start, col["end"]: view.campaign.end,
             col["treatment"]: view.result.treatment.members, col["control"]: view.result.control.members,
             col["rate_diff"]: view.result.rate_diff * 100, col["ci_low"]: view.result.rate_ci[0] * 100,
             col["ci_high"]: view.result.rate_ci[1] * 100, col["verdict"]: verdict_text(view, lang)}
            for view in digest.campaigns]
    schema = {col["name"]: pl.String, col["goal"]: pl.String, col["start"]: pl.Date, col["end"]: pl.Date,
              col["treatment"]: pl.Int64, col["control"]: pl.Int64, col["rate_diff"]: pl.Float64,
              col["ci_low"]: pl.Float64, col["ci_high"]: pl.Float64, col["verdict"]: pl.String}
    kinds = {col["start"]: "date", col["end"]: "date", col["treatment"]: "number", col["control"]: "number",
             col["rate_diff"]: "points", col["ci_low"]: "points", col["ci_high"]: "points", col["verdict"]: "markdown"}
    lead = tr("digest.lead.campaigns", count=format_number(len(rows), lang))
    return Section("campaigns", tr("digest.section.campaigns"), lead, pl.DataFrame(rows, schema=schema, orient="row"),
                   {c: kinds.get(c, "text") for c in schema})


_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")   # characters Excel refuses in a sheet name
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _plain(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def _html_text(text: str, kind: Kind = "text") -> str:
    """Escaped text; a translated sentence's markdown bold as ``<strong>``."""
    escaped = html.escape(text)
    return _BOLD.sub(r"<strong>\1</strong>", escaped) if kind == "markdown" else escaped


def _shown_cells(section: Section, lang: str, currency: str | None, rows: int,
                 as_html: bool) -> tuple[list[str], list[list[str]]]:
    """The headers and the first ``rows`` rows the e-mail shows, as escaped HTML or as plain text."""
    headers = list(section.shown or section.table.columns)
    kinds = [section.kinds.get(h, "text") for h in headers]
    write = (lambda text, kind: _html_text(text, kind)) if as_html else (
        lambda text, kind: _plain(text) if kind == "markdown" else text)
    cells = [[write(_cell(row[h], kind, lang, currency), kind) for h, kind in zip(headers, kinds)]
             for row in section.table.head(rows).iter_rows(named=True)]
    return [html.escape(h) for h in headers] if as_html else headers, cells


STYLE = {
    "body": "margin:0;padding:24px;background:#f5f6f8;font-family:-apple-system,'Segoe UI','PingFang SC',"
            "'Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC',Arial,sans-serif;color:#1f2933;",
    "card": "max-width:960px;margin:0 auto;background:#ffffff;border:1px solid #e1e4e8;border-radius:6px;"
            "padding:24px;",
    "h1": "font-size:20px;margin:0 0 4px 0;",
    "h2": "font-size:16px;margin:24px 0 6px 0;border-bottom:1px solid #e1e4e8;padding-bottom:4px;",
    "p": "font-size:13px;margin:4px 0 8px 0;line-height:1.5;",
    "table": "border-collapse:collapse;width:100%;font-size:12px;",
    "th": "text-align:left;background:#eef1f5;border:1px solid #d8dde3;padding:4px 6px;",
    "td": "border:1px solid #e1e4e8;padding:4px 6px;vertical-align:top;",
    "note": "font-size:12px;color:#616e7c;margin:4px 0;",
}


def _html(sections: Sequence[Section], digest: Digest, lang: str, title: str, intro: str, rows: int) -> str:
    tr = _translator(lang)
    parts = [f'<!DOCTYPE html><html lang="{HTML_LANG.get(lang, lang)}"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>'
             f'</head><body style="{STYLE["body"]}"><div style="{STYLE["card"]}">',
             f'<h1 style="{STYLE["h1"]}">{html.escape(title)}</h1><p style="{STYLE["p"]}">{html.escape(intro)}</p>']
    for section in sections:
        parts.append(f'<h2 id="{section.key}" style="{STYLE["h2"]}">{html.escape(section.title)}</h2>'
                     f'<p style="{STYLE["p"]}">{html.escape(section.lead)}</p>')
        if section.table.height == 0:
            continue
        headers, cells = _shown_cells(section, lang, digest.currency, rows, as_html=True)
        head = "".join(f'<th style="{STYLE["th"]}">{h}</th>' for h in headers)
        body = "".join("<tr>" + "".join(f'<td style="{STYLE["td"]}">{c}</td>' for c in row) + "</tr>"
                       for row in cells)
        parts.append(f'<table data-section="{section.key}" role="presentation" style="{STYLE["table"]}">'
                     f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        if section.table.height > rows:
            parts.append(f'<p style="{STYLE["note"]}">'
                         f'{html.escape(tr("digest.more_rows", shown=rows, count=section.table.height))}</p>')
    parts.append(f'<p style="{STYLE["note"]}">{html.escape(tr("digest.footer"))}</p></div></body></html>')
    return "".join(parts)


def _text(sections: Sequence[Section], digest: Digest, lang: str, title: str, intro: str, rows: int) -> str:
    tr = _translator(lang)
    lines = [title, "=" * 40, intro, ""]
    for section in sections:
        lines += [section.title, "-" * 40, section.lead]
        if section.table.height:
            headers, cells = _shown_cells(section, lang, digest.currency, rows, as_html=False)
            lines.append(" | ".join(headers))
            lines += [" | ".join(row) for row in cells]
            if section.table.height > rows:
                lines.append(tr("digest.more_rows", shown=rows, count=section.table.height))
        lines.append("")
    lines.append(tr("digest.footer"))
    return "\n".join(lines) + "\n"


def _workbook(sections: Sequence[Section], currency: str | None,
              tr: Callable[..., str]) -> tuple[bytes, tuple[str, ...]]:
    """One sheet per section, every value as a cell of its type; text made formula-safe
    (:func:`crm_core.export.neutralise`) and written with xlsxwriter's formula parsing off; money headers
    name the currency (:func:`crm_core.export.money_header`). Phones come masked from the risk view
    (:func:`crm_core.export.mask_contacts`), as on the page and in every download."""
    buffer = io.BytesIO()
    names = []
    with xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "remove_timezone": True}) as workbook:
        for section in sections:
            frame = section.table if section.numbers is None else section.numbers
            floats = [c for c, dtype in frame.schema.items() if dtype.is_float()]
            frame = frame.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats)
            frame = frame.with_columns(pl.col(c).map_elements(_plain, return_dtype=pl.String)
                                       for c, kind in section.kinds.items() if kind == "markdown")
            frame = frame.rename({c: money_header(c, currency) for c, kind in section.kinds.items()
                                  if kind == "money" and c in frame.columns})
            name = _SHEET_UNSAFE.sub(" ", section.title)[:31]
            neutralise(frame).write_excel(workbook=workbook, worksheet=name, autofit=True)
            names.append(name)
    return buffer.getvalue(), tuple(names)


def render(digest: Digest, lang: str, calls: int = CALLS, rows: int = ROWS_SHOWN, label: str | None = None) -> Rendered:
    """The digest in ``lang``: subject, text, HTML and workbook (see the module docstring). ``label``: what to
    call the data (default its name)."""
    tr = _translator(lang)
    when = digest.period
    name = label or digest.dataset_name or tr("digest.sample_name")
    dates = dict(start=format_date(when.start, lang), end=format_date(when.end, lang))
    title = tr("digest.title", dataset=name, **dates)
    intro = tr("digest.intro", days=format_number((when.end - when.start).days + 1, lang), **dates,
               as_of=format_date(when.as_of, lang), horizon=digest.horizon_days)
    sections = _sections(digest, lang, calls)
    workbook, sheets = _workbook(sections, digest.currency, tr)
    return Rendered(lang=lang, subject=tr("digest.subject", dataset=name, **dates), text=_text(sections, digest, lang,
                    title, intro, rows), html=_html(sections, digest, lang, title, intro, rows), workbook=workbook,
                    sheets=sheets)
