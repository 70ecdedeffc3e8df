"""Text encoding: the cascade BOM → UTF-8 → GB18030/Big5 (ranked by how Chinese they read) →
charset-normalizer → lossy UTF-8 (platform_notes §3.1), and the check that decoded text is not binary junk."""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import lru_cache

from crm_core.io.limits import SNIFF_BYTES
from crm_core.io.report import DataError, Issue
from crm_core.schema import SYNONYMS, normalize_header


@dataclass
class _Decoded:
    encoding: str                   # label for the report
    body: bytes                     # UTF-8 bytes (what polars reads)
    issues: list[Issue] = field(default_factory=list)

    @property
    def head(self) -> str:
        """The first ``SNIFF_BYTES`` as text (a character cut at the end is dropped)."""
        return self.body[:SNIFF_BYTES].decode("utf-8", errors="ignore")


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: most of the first bytes of ASCII-range text alternate with NULs."""
    head = data[:2048]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(data: bytes, *, final: bool = True) -> _Decoded:
    """Encoding cascade of platform_notes §3.1: BOM → UTF-8 → GB18030 → charset-normalizer → lossy.

    UTF-8 input is only validated (polars reads the original bytes); other encodings are decoded and
    re-encoded as UTF-8. With ``final=False`` the data is a prefix, and a multibyte character cut at
    its end is tolerated.
    """
    def text_of(encoding: str, body: bytes) -> str:
        if final:
            return body.decode(encoding)
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(body, final=False)

    def recoded(encoding: str, body: bytes, label: str, issues: list[Issue] | None = None) -> _Decoded:
        return _Decoded(label, text_of(encoding, body).encode("utf-8"), issues or [])

    if data.startswith(codecs.BOM_UTF8):
        body = data[3:]
        try:
            if not body.isascii():
                text_of("utf-8", body)
            return _Decoded("utf-8-sig", body)
        except UnicodeDecodeError:
            pass
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            body = data[2:] if final else data[2: len(data) - len(data) % 2]
            try:
                return recoded(encoding, body, "utf-16")
            except UnicodeDecodeError:
                break
    utf16 = _looks_utf16(data)
    if utf16:
        try:
            return recoded(utf16, data if final else data[: len(data) - len(data) % 2], utf16)
        except UnicodeDecodeError:
            pass
    if data.isascii():
        return _Decoded("utf-8", data)
    try:
        text_of("utf-8", data)
        return _Decoded("utf-8", data)
    except UnicodeDecodeError:
        pass
    # Simplified (GB18030, a GBK superset) or Traditional (Big5 as Windows' cp950). GB18030 decodes almost
    # any bytes, so "no error" proves nothing: rank the decodings of the first bytes by how much they read
    # as real Chinese (known header words, common characters; not kana or private-use), then decode all.
    prefix = data[:SNIFF_BYTES]
    ranked = []
    for encoding in ("gb18030", "cp950"):
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
            head = decoder.decode(prefix, final=len(data) <= SNIFF_BYTES)
            ranked.append((_chinese_score(head), encoding))
        except UnicodeDecodeError:
            pass
    for _, encoding in sorted(ranked, reverse=True):
        try:
            text = text_of(encoding, data)
        except UnicodeDecodeError:
            continue
        issues = [Issue("encoding_traditional", "info", 1, None, "kept")] if encoding == "cp950" else []
        return _Decoded(encoding, text.encode("utf-8"), issues)
    guessed = _guess_encoding(data[:SNIFF_BYTES])
    if guessed:
        try:
            return recoded(guessed, data, guessed, [Issue("encoding_guessed", "info", 1, None, "kept")])
        except (UnicodeDecodeError, LookupError):
            pass
    text = data.decode("utf-8", errors="replace")
    return _Decoded("utf-8 (lossy)", text.encode("utf-8"),
                    [Issue("encoding_replaced", "problem", text.count("\ufffd"), None, "kept")])


@lru_cache(maxsize=1)
def _common_chinese() -> frozenset[str]:
    """The characters of everyday Chinese text: GB2312 level 1 (the 3,755 commonest Simplified characters)
    and Big5 level 1 (the 5,401 commonest Traditional ones), decoded from the code tables themselves."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for code in range(0xA440, 0xC67F):
        lead, trail = divmod(code, 256)
        if 0x40 <= trail <= 0x7E or 0xA1 <= trail <= 0xFE:
            try:
                chars.add(bytes((lead, trail)).decode("cp950"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


_ODD_IN_CHINESE = re.compile("[\u3040-\u30ff\uac00-\ud7af\ue000-\uf8ff\u0400-\u04ff\u0370-\u03ff\u2500-\u257f]")


def _chinese_score(text: str) -> float:
    """How much ``text`` reads as real Chinese: each header cell that is a known column name counts 1,
    plus the share of CJK characters that are common ones, minus kana, Hangul, private-use, Cyrillic,
    Greek and box-drawing characters (what a wrong decoding of the other script produces)."""
    first_line = text.split("\n", 1)[0]
    known = {key for table in SYNONYMS.values() for key in table}
    cells = re.split(r"[,;\t|]", first_line)
    header_hits = sum(1 for cell in cells if normalize_header(cell.strip().strip('"')) in known)
    common = _common_chinese()
    cjk = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    odd = len(_ODD_IN_CHINESE.findall(text))
    share = (sum(1 for ch in cjk if ch in common) - 2 * odd) / max(1, len(cjk) + odd)
    return header_hits + share


def _guess_encoding(sample: bytes) -> str | None:
    """charset-normalizer's best guess, or None (it is a last resort: wrong on short CJK samples)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with requests
        return None
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _decode_prefix(data: bytes) -> _Decoded:
    decoded = _decode(data[:SNIFF_BYTES], final=len(data) <= SNIFF_BYTES)
    _check_text(decoded.head)
    return decoded


_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


def _check_text(sample: str, max_control_share: float = 0.01) -> None:
    """Binary junk decodes into control characters; real exports contain (almost) none."""
    head = sample[:SNIFF_BYTES]
    if not head.strip().strip("\ufeff"):
        raise DataError("io.error.empty", {})
    if "\x00" in head:
        raise DataError("io.error.not_a_table", {"format": "binary"})
    controls = len(_CONTROL_CHARS.findall(head))
    if controls > max_control_share * len(head):
        raise DataError("io.error.not_a_table", {"format": "binary"})
