"""The Data page's upload side: read an upload (cached per session on its content hash), the column
mapping editor, the load report, the currency pickers and the uploader's own words in the page's language.
pages/data.py arranges them; crm_core.io does the reading."""
from __future__ import annotations

import hashlib
import io
import os
from datetime import date

import polars as pl
import streamlit as st
from babel.numbers import get_currency_name

from crm_core.export import to_csv_bytes
from crm_core.io import DataError, LoadResult, list_sheets, sniff_headers
from crm_core.io.isolated import MEMORY_MB, SECONDS, read_table_isolated, run_isolated
from crm_core.io.limits import MAX_BYTES, MAX_ROWS
from crm_core.schema import COLUMNS, REQUIRED, detect_mapping
from ui import data
from ui.i18n import format_number, translate
from ui.state import lang, t
from ui.text import plain, t_plain

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "parquet"]
KEEP_AS_EXTRA = ""
MAPPING_ERRORS = ("io.error.missing_columns", "io.error.duplicate_mapping", "io.error.unknown_column")
CURRENCIES = ("CNY", "TWD", "HKD", "USD", "EUR", "GBP", "JPY", "KRW", "SGD", "AUD", "CAD", "INR")
NO_CURRENCY = ""


@st.cache_data(max_entries=12, show_spinner=False, scope="session")
def parse(content_sha256: str, file_name: str, kind: str, mapping: tuple[tuple[str, str], ...], sheet: str | None,
          date_order: str | None, today: date, drop_duplicates: bool, _raw: bytes) -> LoadResult:
    """Read one upload in a capped child process (:func:`crm_core.io.read_table_isolated`, caps from
    :func:`caps`); keyed on the full content hash, never on the bytes' sample."""
    return read_table_isolated(named_bytes(_raw, file_name), kind=kind, mapping=dict(mapping) if mapping else None,
                               sheet=sheet, date_order=date_order, today=today, drop_duplicates=drop_duplicates,
                               **caps(), **limits())


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def caps() -> dict[str, int]:
    """The deployer's caps on the process that reads one upload: ``CRM_PARSE_MEMORY_MB`` (default 2048)
    and ``CRM_PARSE_SECONDS`` (default 300)."""
    return {"memory_mb": _setting("CRM_PARSE_MEMORY_MB", MEMORY_MB), "seconds": _setting("CRM_PARSE_SECONDS", SECONDS)}


def limits() -> dict[str, int]:
    """How big a file may be: ``CRM_MAX_ROWS`` lines (default 5,000,000), and as many bytes as the server
    accepts (``server.maxUploadSize``, 200 MB in our config), so one setting raises the upload's limit and
    the reader's together."""
    upload_mb = st.get_option("server.maxUploadSize")
    return {"max_rows": _setting("CRM_MAX_ROWS", MAX_ROWS),
            "max_bytes": max(1, int(upload_mb)) * 1024 * 1024 if upload_mb else MAX_BYTES}


@st.cache_data(max_entries=12, show_spinner=False, scope="session")
def headers_of(content_sha256: str, file_name: str, sheet: str | None, _raw: bytes) -> list[str]:
    """The header row alone, for the mapping editor when the file cannot be read as mapped."""
    try:
        return run_isolated(sniff_headers, named_bytes(_raw, file_name), sheet=sheet, **caps())
    except DataError:
        return []


@st.cache_data(max_entries=12, show_spinner=False, scope="session")
def sheets(content_sha256: str, file_name: str, _raw: bytes) -> list[str]:
    try:
        return run_isolated(list_sheets, named_bytes(_raw, file_name), **caps())
    except DataError:
        return []


def named_bytes(raw: bytes, file_name: str) -> io.BytesIO:
    named = io.BytesIO(raw)
    named.name = file_name  # the reader uses the name for the report and as a format hint
    return named


def error_text(error: DataError, kind: str) -> str:
    """A loader error in the page's language, with the app's own field names in it translated too
    ("缺少必需的列：客户编号, 下单时间", not "customer_id, order_date")."""
    language, params = lang(), dict(error.params)

    def named(column: str) -> str:
        return field_name(kind, column, language) if column in COLUMNS.get(kind, ()) else column

    if error.key in ("io.error.missing_columns", "io.error.unknown_column"):
        params["columns"] = ", ".join(named(c) for c in str(params.get("columns", "")).split(", ") if c)
    if error.key == "io.error.duplicate_mapping":
        params["column"] = named(str(params.get("column", "")))
    return t_plain(error.key, **params)


def field_name(kind: str, column: str, language: str) -> str:
    """A canonical column as the user reads it: ``customer_id`` → "Customer ID" / "客户编号"."""
    return translate(language, f"field.{kind}.{column}")


def field_label(kind: str, column: str, language: str) -> str:
    """:func:`field_name` in the mapping editor, * if required. The language is passed in: AppTest calls a
    widget's format_func outside the script run."""
    if column == KEEP_AS_EXTRA:
        return translate(language, "data.mapping.keep")
    return field_name(kind, column, language) + ("  *" if column in REQUIRED[kind] else "")


def _move_target(file_key: str, index: int, count: int) -> None:
    """A field belongs to one column: choosing it here takes it from the column that had it."""
    chosen = st.session_state.get(f"map_{file_key}_{index}")
    if chosen == KEEP_AS_EXTRA:
        return
    for other in range(count):
        key = f"map_{file_key}_{other}"
        if other != index and st.session_state.get(key) == chosen:
            st.session_state[key] = KEEP_AS_EXTRA


def mapping_editor(kind: str, headers: list[str], detected: dict[str, str], file_key: str) -> dict[str, str] | None:
    """A selectbox per source column; returns an override mapping when the user changed anything."""
    options = [KEEP_AS_EXTRA] + list(COLUMNS[kind])
    language = lang()
    chosen: dict[str, str] = {}
    columns = st.columns(4)
    for index, header in enumerate(headers):
        key = f"map_{file_key}_{index}"
        if key not in st.session_state:
            st.session_state[key] = detected.get(header, KEEP_AS_EXTRA)
        chosen[header] = columns[index % 4].selectbox(
            plain(header) or "–", options, key=key, format_func=lambda c: field_label(kind, c, language),
            on_change=_move_target, args=(file_key, index, len(headers)))
    return chosen if chosen != {h: detected.get(h, KEEP_AS_EXTRA) for h in headers} else None


def _reset_mapping(file_key: str) -> None:
    st.session_state.pop(f"override_{file_key}", None)
    for key in [k for k in st.session_state if str(k).startswith(f"map_{file_key}_")]:
        del st.session_state[key]


def edit_mapping(kind: str, headers: list[str], detected: dict[str, str], file_key: str, override: dict | None) -> None:
    """The mapping editor; a changed choice becomes the override the file is read with."""
    st.caption(t("data.mapping.help"))
    changed = mapping_editor(kind, headers, detected, file_key)
    if changed is not None and changed != override:
        st.session_state[f"override_{file_key}"] = changed
        st.rerun()
    if override and st.button(t("data.mapping.reset"), key=f"reset_{file_key}"):
        _reset_mapping(file_key)
        st.rerun()


def currency_name(code: str, language: str) -> str:
    """``TWD · 新台币`` / ``TWD · New Taiwan Dollar`` (Babel's name), or "no currency"."""
    if code == NO_CURRENCY:
        return translate(language, "data.currency.none")
    return f"{code} · {get_currency_name(code, locale='zh_CN' if language == 'zh' else 'en_US')}"


def currency_picker(detected: str | None, file_key: str) -> str | None:
    """The currency of the amounts: what the file's signs said, else the user's choice (none: plain numbers)."""
    language = lang()
    options = [NO_CURRENCY] + list(CURRENCIES)
    key = f"currency_{file_key}"
    if key not in st.session_state:
        st.session_state[key] = detected if detected in CURRENCIES else NO_CURRENCY
    chosen = st.selectbox(
        t("data.currency.label"), options, key=key,
        format_func=lambda code: currency_name(code, language),
        help=t("data.currency.detected", code=detected) if detected else t("data.currency.not_detected"))
    return chosen or None


def issue_text(issue, language: str) -> str:
    return t_plain(f"io.issue.{issue.key}", **{**issue.params, "count": format_number(issue.count, language),
                                          "column": issue.column or ""})


def show_report(result: LoadResult, key: str) -> None:
    report, language = result.report, lang()
    kept, read = report.rows_kept, report.rows_read
    a, b, c = st.columns(3)
    a.metric(t("data.report.rows_read"), format_number(read, language))
    b.metric(t("data.report.rows_kept"), format_number(kept, language))
    c.metric(t("data.report.rows_dropped"), format_number(read - kept, language))
    details = [t("data.report.format", format=report.file_format)]
    if report.encoding:
        details.append(t("data.report.encoding", encoding=report.encoding))
    if report.delimiter:
        details.append(t("data.report.delimiter", delimiter={"\t": "Tab"}.get(report.delimiter, report.delimiter)))
    if report.date_order:
        details.append(t("data.report.date_order", order=t(f"io.date_order.{report.date_order}")))
    st.caption(" · ".join(details))
    if not report.issues:
        st.success(t("data.report.clean"), icon=":material/check_circle:")
    for index, issue in enumerate(report.issues):
        text = issue_text(issue, language)
        icon = ":material/warning:" if issue.severity == "problem" else ":material/info:"
        with st.expander(text, icon=icon):
            if issue.examples:
                st.dataframe(pl.DataFrame([{k: str(v) for k, v in row.items()} for row in issue.examples]),
                             hide_index=True, key=f"examples_{key}_{index}")
            else:
                st.caption(t("data.report.no_examples"))
    if result.rejected.height:
        st.download_button(t("data.report.download_rejected", count=format_number(result.rejected.height, language)),
                           data=to_csv_bytes(result.rejected), file_name=f"rejected_{report.kind}.csv", mime="text/csv",
                           key=f"rejected_{key}", on_click="ignore", icon=":material/download:")


def uploader_in_language() -> None:
    """The uploader's own words ("Upload", "200MB per file") are fixed English in Streamlit's frontend:
    show them in the page's language by replacing the text of those two elements with CSS."""
    def css_text(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    button = css_text(t("data.upload.button"))
    hint = css_text(t("data.upload.hint", limit=st.get_option("server.maxUploadSize"),
                      types=", ".join(kind.upper() for kind in UPLOAD_TYPES)))
    st.html(f"""<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: {button}; font-size: 14px; }}
[data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: {hint}; font-size: 14px; }}
</style>""")


def upload_section(kind: str) -> LoadResult | None:
    st.subheader(t(f"data.kind.{kind}"))
    st.caption(t(f"data.kind_help.{kind}"))
    upload = st.file_uploader(t("data.upload.label"), type=UPLOAD_TYPES, key=f"upload_{kind}")
    if upload is None:
        return None
    raw = upload.getvalue()
    sha = hashlib.sha256(raw).hexdigest()
    file_key = f"{kind}_{sha[:12]}"
    sheet = None
    names = sheets(sha, upload.name, raw) if upload.name.lower().endswith((".xlsx", ".xlsm", ".xls")) else []
    if len(names) > 1:
        sheet = st.selectbox(t("data.upload.sheet"), names, key=f"sheet_{file_key}")
        file_key += f"_{names.index(sheet)}"  # each sheet has its own columns, so its own mapping
    override = st.session_state.get(f"override_{file_key}")
    date_order = st.session_state.get(f"date_order_{file_key}")
    drop_duplicates = bool(st.session_state.get(f"dedupe_{file_key}", False))
    try:
        result = parse(sha, upload.name, kind, tuple(sorted(override.items())) if override else (), sheet,
                       date_order, date.today(), drop_duplicates, raw)
    except DataError as error:
        st.error(error_text(error, kind), icon=":material/error:")
        headers = headers_of(sha, upload.name, sheet, raw) if error.key in MAPPING_ERRORS else []
        if headers:  # the mapping is the problem: the editor stays on screen to fix it
            with st.expander(t("data.mapping.title"), expanded=True):
                edit_mapping(kind, headers, override or detect_mapping(headers, kind), file_key, override)
        elif override and st.button(t("data.mapping.reset"), key=f"reset_{file_key}"):
            _reset_mapping(file_key)
            st.rerun()
        return None
    report = result.report
    mapping_notes = {"no_header", "money_column_chosen"} & {i.key for i in report.issues}
    with st.expander(t("data.mapping.title"), expanded=bool(mapping_notes) or override is not None):
        for issue in report.issues:
            if issue.key in mapping_notes:
                st.info(issue_text(issue, lang()), icon=":material/info:")
        edit_mapping(kind, list(report.headers), report.mapping, file_key, override)
    with st.expander(t("data.report.title"), expanded=bool(report.problems)):
        show_report(result, file_key)
        repeats = next((i for i in report.issues if i.key in ("duplicate_rows_kept", "duplicate_rows")), None)
        if repeats is not None:
            st.checkbox(t("data.report.drop_duplicates", count=format_number(repeats.count, lang())),
                        key=f"dedupe_{file_key}")
        if result.report.date_order in ("day-first", "month-first"):
            other = "month-first" if result.report.date_order == "day-first" else "day-first"
            if st.button(t("data.report.switch_date_order", order=t(f"io.date_order.{other}")),
                         key=f"switch_{file_key}"):
                st.session_state[f"date_order_{file_key}"] = other
                st.rerun()
    if kind == "transactions":
        st.session_state["_upload_currency"] = currency_picker(report.currency, file_key)
    with st.expander(t("data.preview.title")):
        st.dataframe(result.df.head(200), hide_index=True, key=f"preview_{file_key}")
    return result


def currency_in_use() -> None:
    """The currency of the data in use: kept with a saved dataset, an upload, or the sample's link."""
    language = lang()
    in_use = data.currency()
    choices = [NO_CURRENCY] + list(CURRENCIES) + ([in_use] if in_use and in_use not in CURRENCIES else [])
    key = f"data_currency_{st.session_state.get('dataset_id') or data.current().fingerprint[:12]}"
    if not st.session_state.get("dataset_id"):
        help_key = "data.currency.in_use_help"
    else:
        help_key = "data.currency.in_use_saved" if data.owns_current() else "data.currency.in_use_not_owner"
    st.selectbox(t("data.currency.in_use"), choices, index=choices.index(in_use or NO_CURRENCY), key=key,
                 format_func=lambda code: currency_name(code, language), help=t(help_key),
                 on_change=lambda: data.change_currency(st.session_state[key] or None))
