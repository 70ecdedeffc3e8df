"""The shape of delimited text: delimiter (or runs of spaces), title rows above the header, whether there is
a header row at all, and header names made clean and unique."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from crm_core.io.limits import SNIFF_BYTES, SNIFF_RECORDS, TITLE_ROWS_MAX
from crm_core.io.report import Issue
from crm_core.schema import SYNONYMS, normalize_header

DELIMITERS = (",", "\t", ";", "|")


@dataclass
class _Sniff:
    delimiter: str
    skip: int                  # records before the header row (title lines, ``sep=`` line)
    headers: tuple[str, ...]   # unique, cleaned
    raw_headers: tuple[str, ...]
    width: int                 # number of columns to read
    issues: list[Issue]
    has_header: bool = True    # False: the first record is data (columns named column_1 …)
    whitespace: bool = False   # columns separated by runs of spaces (CDNOW_master.txt and other fixed-width text)


def _sniff_csv(text: str, truncated: bool = False) -> _Sniff:
    """Delimiter, header row and width from the first records of the decoded text (a prefix when
    ``truncated``: its last, possibly cut, line is ignored)."""
    sample = text[:SNIFF_BYTES]
    if (truncated or len(text) > SNIFF_BYTES) and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    sample = sample.lstrip("\ufeff")
    first_line = sample.split("\n", 1)[0].strip()
    forced = None
    if re.fullmatch(r"sep=.", first_line):  # Excel's explicit separator line
        forced = first_line[-1]
        sample = sample.split("\n", 1)[1] if "\n" in sample else ""

    def records(delimiter: str) -> list[list[str]]:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"'):
                rows.append(row)
                if len(rows) >= SNIFF_RECORDS + TITLE_ROWS_MAX:
                    break
        except csv.Error:
            pass  # a prefix may stop inside a quoted field
        return rows

    def score(rows: list[list[str]]) -> tuple[float, int]:
        counts = [len(r) for r in rows if any(cell.strip() for cell in r)]
        if not counts:
            return (0.0, 0)
        mode, hits = max(Counter(counts).items(), key=lambda item: (item[1], item[0]))
        return ((hits / len(counts)) if mode > 1 else 0.0, mode)

    whitespace = False
    if forced:
        delimiter, rows = forced, records(forced)
    else:
        candidates = [(score(rows), -i, d, rows) for i, d in enumerate(DELIMITERS) for rows in [records(d)]]
        (best, _, delimiter, rows) = max(candidates, key=lambda item: (item[0], item[1]))
        spaced = [line.split() for line in sample.splitlines()[: SNIFF_RECORDS + TITLE_ROWS_MAX]]
        spaced_score = score(spaced)
        if best[0] < 0.9 and spaced_score[0] >= 0.9 and spaced_score[1] > max(best[1], 1):
            delimiter, rows, whitespace = "\t", spaced, True  # read as tab-separated once runs are folded
    skip = _title_rows(rows)
    issues = []
    if skip:
        issues.append(Issue("title_rows_skipped", "info", skip, None, "dropped"))
    raw = rows[skip] if skip < len(rows) else []
    data_counts = [len(r) for r in rows[skip + 1:] if any(cell.strip() for cell in r)]
    modal = Counter(data_counts).most_common(1)[0][0] if data_counts else 0
    width = max(len(raw), modal, 1)
    raw = list(raw) + [""] * (width - len(raw))
    has_header = not _looks_like_data(raw, rows[skip + 1: skip + 1 + SNIFF_RECORDS])
    if not has_header:
        raw = [""] * width
        issues.append(Issue("no_header", "info", 1, None, "kept"))
    if whitespace:
        issues.append(Issue("whitespace_delimited", "info", 1, None, "kept"))
    headers, header_issues = _clean_headers(raw)
    if not has_header:
        header_issues = [i for i in header_issues if i.key != "empty_headers"]
    return _Sniff(delimiter, skip + (1 if forced else 0), tuple(headers), tuple(raw), width, issues + header_issues,
                  has_header=has_header, whitespace=whitespace)


_DATA_LIKE = re.compile(r"^[-+(]?[¥$€£]?[0-9][0-9.,:/\- ]*[)]?$")


def _looks_like_data(first: list[str], following: list[list[str]]) -> bool:
    """Whether the first record is a data row, not a header: no cell is a known column name, every filled
    cell is a number, date or code, and the next records look the same in those places."""
    cells = [str(cell or "").strip() for cell in first]
    filled = [cell for cell in cells if cell]
    if len(filled) < 2:
        return False
    known = {key for table in SYNONYMS.values() for key in table}
    if any(normalize_header(cell) in known for cell in filled):
        return False
    if not all(_DATA_LIKE.match(cell) for cell in filled):
        return False
    alike = [row for row in following if len(row) == len(cells)
             and all(bool(_DATA_LIKE.match(str(row[i]).strip())) for i, cell in enumerate(cells) if cell)]
    return len(alike) >= 0.8 * max(1, len(following))


def _title_rows(rows: list[list[str]]) -> int:
    """Leading rows with at most one filled cell above a row with several (report titles, blank lines)."""
    filled = [sum(1 for cell in row if str(cell or "").strip()) for row in rows[: TITLE_ROWS_MAX + 1]]
    skip = 0
    while skip < len(filled) - 1 and filled[skip] <= 1 and any(n >= 2 for n in filled[skip + 1:]):
        skip += 1
    return skip if skip < TITLE_ROWS_MAX else 0


def _clean_headers(raw: list[Any]) -> tuple[list[str], list[Issue]]:
    """Strip BOM/whitespace, name blanks ``column_N``, make duplicates unique as ``name (2)``."""
    cleaned = [str(h if h is not None else "").replace("\ufeff", "").strip() for h in raw]
    issues: list[Issue] = []
    blanks = sum(1 for h in cleaned if not h)
    names = [h or f"column_{i + 1}" for i, h in enumerate(cleaned)]
    seen: set[str] = set()
    unique: list[str] = []
    duplicated: Counter[str] = Counter()
    for header in names:
        candidate, n = header, 1
        while candidate in seen:
            n += 1
            candidate = f"{header} ({n})"
        if n > 1:
            duplicated[header] += 1
        seen.add(candidate)
        unique.append(candidate)
    if blanks:
        issues.append(Issue("empty_headers", "info", blanks, None, "kept"))
    for header, count in duplicated.items():
        issues.append(Issue("duplicate_headers", "info", count + 1, header, "kept"))
    return unique, issues
