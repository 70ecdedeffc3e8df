"""Text encoding: the cascade BOM → UTF-8 → GB18030/Big5 (ranked by how Chinese they read) →
line by line → charset-normalizer (platform_notes §3.1), and the check that decoded text is not binary junk.

A file whose bytes are not one encoding throughout (two exports pasted together: a GBK header and rows
alternating UTF-8 and GBK) is decoded line by line, each line in the encoding it reads as; lines valid in
no candidate encoding keep a "�" where their bad bytes were, so that ``clean`` drops and reports them.
"""
from __future__ import annotations

import codecs
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from crm_core.io.limits import SNIFF_BYTES
from crm_core.io.report import DataError, Issue
from crm_core.io.source import _blocks, _prefix
from crm_core.schema import SYNONYMS, normalize_header

UNDECODABLE = "\ufffd"  # stands for the bytes of a line that no candidate encoding reads
_LEGACY = ("gb18030", "cp950")  # Simplified (GB18030, a GBK superset), Traditional (Big5 as Windows' cp950)
ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030", "cp950": "Big5 (cp950)"}


@dataclass(frozen=True)
class _LineDecoding:
    """How a file that is not one encoding throughout was read line by line.

    ``counts`` and ``examples`` cover the lines with non-ASCII bytes, per encoding (``None``: valid in
    none of them); examples are up to three ``(1-based line number, decoded text)``.
    """

    main: str
    counts: dict[str | None, int]
    examples: dict[str | None, tuple[tuple[int, str], ...]]
    legacy_score: float | None = None  # _chinese_score of the first lines read as GB18030 or Big5

    @property
    def others(self) -> list[str]:
        """The encodings other than ``main`` that some lines were read in, most lines first."""
        return [enc for enc, _ in sorted(self.counts.items(), key=lambda item: -item[1])
                if enc is not None and enc != self.main]

    @property
    def undecodable(self) -> int:
        return self.counts.get(None, 0)

    @property
    def label(self) -> str:
        """``gb18030+utf-8`` for a mix, else the one encoding."""
        return "+".join([self.main] + self.others)


@dataclass
class _Decoded:
    encoding: str                   # label for the report
    body: bytes                     # UTF-8 bytes (what polars reads)
    issues: list[Issue] = field(default_factory=list)
    lines: _LineDecoding | None = None  # set when the file was decoded line by line

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
    """Encoding cascade of platform_notes §3.1: BOM → UTF-8 → GB18030/Big5 → line by line →
    charset-normalizer → line by line with the lines valid in no candidate marked ``UNDECODABLE``.

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
    # GB18030 decodes almost any bytes, so "no error" proves nothing: rank the decodings of the first bytes
    # by how much they read as real Chinese (known header words, common characters; not kana or private
    # use), then decode all, unless some lines read as UTF-8 (a pasted mix), which are then read line by line.
    whole: _Decoded | None = None
    for encoding in _rank_legacy(data[:SNIFF_BYTES], final=final and len(data) <= SNIFF_BYTES):
        try:
            text = text_of(encoding, data)
        except UnicodeDecodeError:
            continue
        issues = [Issue("encoding_traditional", "info", 1, None, "kept")] if encoding == "cp950" else []
        whole = _Decoded(encoding, text.encode("utf-8"), issues)
        if next(_utf8_lines_among(data, encoding), None) is None:
            return whole
        break
    by_line = _decode_lines(data, final=final)
    if _reads_well(by_line):
        return by_line
    if whole is not None:
        return whole
    guessed = _guess_encoding(data[:SNIFF_BYTES])
    if guessed:
        try:
            return recoded(guessed, data, guessed, [Issue("encoding_guessed", "info", 1, None, "kept")])
        except (UnicodeDecodeError, LookupError):
            pass
    return by_line  # no encoding reads the whole file: lines valid in none are dropped and reported


def _rank_legacy(prefix: bytes, *, final: bool) -> list[str]:
    """GB18030 and Big5 (cp950) in the order their decoding of ``prefix`` reads as Chinese; the ones that
    cannot decode it are left out."""
    ranked = []
    for encoding in _LEGACY:
        try:
            head = codecs.getincrementaldecoder(encoding)(errors="strict").decode(prefix, final=final)
            ranked.append((_chinese_score(head), encoding))
        except UnicodeDecodeError:
            pass
    return [encoding for _, encoding in sorted(ranked, reverse=True)]


_UTF8_CLASSES = bytes(ord("L") if 0xE0 <= b <= 0xF4 else ord("c") if 0x80 <= b <= 0xBF else ord(".")
                      for b in range(256))


def _utf8_lines_among(data: bytes, legacy: str, block: int = 1 << 16) -> Iterator[int]:
    """Start offsets of lines of a file that decodes in ``legacy`` which read better as UTF-8.

    Fast gate for the whole-file path: blocks of pure ASCII are skipped, and only lines holding a UTF-8
    lead byte of a three- or four-byte sequence followed by two continuation bytes (every CJK character
    in UTF-8) are decoded, so a real GB18030 or Big5 export costs one ``bytes.translate`` of its
    non-ASCII blocks. Lines with only two-byte UTF-8 characters (``é``, ``¥``) are not found here; once
    one line is found, :func:`_decode_lines` reads every line.
    """
    for start in range(0, len(data), block):
        end = min(len(data), start + block)
        if data[start:end].isascii():
            continue
        classes = data[start:end + 3].translate(_UTF8_CLASSES)
        position = classes.find(b"Lcc")
        while 0 <= position < end - start:
            hit = start + position
            line_start = data.rfind(b"\n", 0, hit) + 1
            line_end = data.find(b"\n", hit)
            line_end = len(data) if line_end < 0 else line_end
            if _line_encoding(data[line_start:line_end], (legacy,))[0] == "utf-8":
                yield line_start
            position = classes.find(b"Lcc", line_end + 1 - start)


def _decode_lines(data: bytes, *, final: bool = True, examples_max: int = 3, score_lines: int = 200) -> _Decoded:
    """Decode each line in the encoding it reads as: UTF-8, or GB18030 / Big5 (ranked on the lines that
    are not UTF-8), whichever reads more like Chinese when several are valid (:func:`_plausibility`).
    A line valid in none keeps ``UNDECODABLE`` for each bad byte; ``clean`` drops those rows."""
    newline = b"\r" if b"\n" not in data and b"\r" in data else b"\n"
    lines = data.split(newline)
    sample, size = [], 0
    for line in lines:
        if size > SNIFF_BYTES:
            break
        if not line.isascii() and _try_decode(line, "utf-8", final=True) is None:
            sample.append(line)
            size += len(line)
    legacy = _rank_legacy(b"\n".join(sample), final=True) if sample else list(_LEGACY)
    legacy += [encoding for encoding in _LEGACY if encoding not in legacy]
    counts: Counter[str | None] = Counter()
    examples: dict[str | None, list[tuple[int, str]]] = {}
    decoded_lines: list[bytes] = []
    undecodable: list[tuple[int, bytes]] = []
    legacy_sample: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.isascii():
            decoded_lines.append(line)
            continue
        last = not final and number == len(lines)  # a prefix: its last character may be cut
        encoding, text = _line_encoding(line, legacy, final=not last)
        counts[encoding] += 1
        if encoding is None:
            undecodable.append((len(decoded_lines), line))
            decoded_lines.append(b"")
            continue
        if len(examples.setdefault(encoding, [])) < examples_max:
            examples[encoding].append((number, text))
        if encoding != "utf-8" and len(legacy_sample) < score_lines:
            legacy_sample.append(text)
        decoded_lines.append(line if encoding == "utf-8" and not last else text.encode("utf-8"))
    main = max((enc for enc in counts if enc is not None), key=lambda enc: (counts[enc], enc == "utf-8"),
               default="utf-8")
    for index, line in undecodable:  # each bad byte becomes UNDECODABLE, read in the main encoding
        text = line.decode(main, errors="replace")
        if len(examples.setdefault(None, [])) < examples_max:
            examples[None].append((index + 1, text))
        decoded_lines[index] = text.encode("utf-8")
    result = _LineDecoding(main, dict(counts), {enc: tuple(found) for enc, found in examples.items()},
                           _chinese_score("\n".join(legacy_sample)) if legacy_sample else None)
    issues = [Issue("encoding_traditional", "info", 1, None, "kept")] if main == "cp950" else []
    return _Decoded(result.label, newline.join(decoded_lines), issues, result)


def _reads_well(decoded: _Decoded, max_undecodable_share: float = 0.25, min_chinese_score: float = 0.5) -> bool:
    """Whether a line-by-line decoding is to be trusted over charset-normalizer's guess: few lines valid in
    no candidate encoding, and the lines read as GB18030 or Big5 read as Chinese (a Latin-1 or Shift-JIS
    file also decodes partly as GB18030, into rare characters)."""
    lines = decoded.lines
    if lines is None:
        return True
    if lines.undecodable > max_undecodable_share * sum(lines.counts.values()):
        return False
    return lines.legacy_score is None or lines.legacy_score >= min_chinese_score


def _try_decode(line: bytes, encoding: str, *, final: bool) -> str | None:
    try:
        if final:
            return line.decode(encoding)
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(line, final=False)
    except UnicodeDecodeError:
        return None


def _line_encoding(line: bytes, legacy: tuple[str, ...] | list[str], *,
                   final: bool = True) -> tuple[str | None, str]:
    """The encoding one non-ASCII line reads as, and its text; ``(None, "")`` when valid in none.

    UTF-8 wins over a legacy decoding only when it reads more plausibly (:func:`_plausibility`): a short
    GBK line is sometimes valid UTF-8 by chance, but then yields Hebrew or Cyrillic letters.
    """
    as_utf8 = _try_decode(line, "utf-8", final=final)
    for encoding in legacy:
        text = _try_decode(line, encoding, final=final)
        if text is not None:
            if as_utf8 is not None and _plausibility(as_utf8, "utf-8") > _plausibility(text, encoding):
                return "utf-8", as_utf8
            return encoding, text
    return ("utf-8", as_utf8) if as_utf8 is not None else (None, "")


_ODD_IN_A_LINE = re.compile(
    "[\u0080-\u009f\u0180-\u07ff\u3040-\u30ff\uac00-\ud7af\ue000-\uf8ff\u2500-\u257f\ufffd]")
_USUAL_SYMBOLS = re.compile("[\u00a0-\u017f\u2000-\u206f\u3000-\u303f\uff00-\uffef]")


def _plausibility(text: str, encoding: str) -> float:
    """How plausible one line decoded from ``encoding`` is in a Chinese CRM export, from -2 to 1: the share
    of its non-ASCII characters that are common characters of that encoding (GB2312 level 1 for GB18030,
    Big5 level 1 for Big5, either for UTF-8) or usual symbols (Latin-1 letters, CJK and full-width
    punctuation), minus twice the share that are what a wrong decoding yields (Hebrew to Arabic, kana,
    Hangul, private use, box drawing). UTF-8 read as GBK starts every other character with a lead byte
    E4–E9, outside GB2312 level 1 (``华东`` → ``鍗庝笢``), so it scores at most about half."""
    common = {"gb18030": _gb2312_level1, "cp950": _big5_level1}.get(encoding, _common_chinese)()
    wide = [ch for ch in text if ch >= "\x80"]
    good = sum(1 for ch in wide if ch in common or _USUAL_SYMBOLS.match(ch))
    odd = sum(1 for ch in wide if _ODD_IN_A_LINE.match(ch))
    return (good - 2 * odd) / max(1, len(wide))


@lru_cache(maxsize=1)
def _gb2312_level1() -> frozenset[str]:
    """GB2312 level 1: the 3,755 commonest Simplified characters, decoded from the code table itself."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


@lru_cache(maxsize=1)
def _big5_level1() -> frozenset[str]:
    """Big5 level 1: the 5,401 commonest Traditional characters, decoded from the code table itself."""
    chars: set[str] = set()
    for code in range(0xA440, 0xC67F):
        lead, trail = divmod(code, 256)
        if 0x40 <= trail <= 0x7E or 0xA1 <= trail <= 0xFE:
            try:
                chars.add(bytes((lead, trail)).decode("cp950"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


@lru_cache(maxsize=1)
def _common_chinese() -> frozenset[str]:
    """The characters of everyday Chinese text: GB2312 level 1 and Big5 level 1."""
    return _gb2312_level1() | _big5_level1()


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


@dataclass
class _Streamed:
    """A text file as UTF-8 that polars reads itself: the original (UTF-8, with or without BOM) or a
    temporary file it was transcoded into block by block (``temporary``: the caller removes it)."""

    encoding: str
    source: bytes | Path
    head: str
    size: int                       # bytes of UTF-8 text polars reads (without a BOM)
    issues: list[Issue] = field(default_factory=list)
    temporary: Path | None = None


_WHOLE_FILE = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "cp950")


def _stream_utf8(data: bytes | Path, size: int, *, block: int = 16 << 20) -> _Streamed | None:
    """The cascade of :func:`_decode` without holding the file in memory, for a file in one encoding.

    The encoding is chosen on the first ``SNIFF_BYTES`` exactly as :func:`_decode` chooses it; UTF-8 is
    left as it is (polars validates it while reading: the caller falls back on an invalid byte), any
    other whole-file encoding is transcoded in blocks of ``block`` bytes into a temporary UTF-8 file.
    None when the file needs the whole-file cascade in memory: a mix of encodings read line by line,
    charset-normalizer's guess, or a decoding that fails past the first bytes (the second-ranked
    encoding, or lines that read as UTF-8 inside a GB18030 or Big5 file).
    """
    prefix = _prefix(data, SNIFF_BYTES)
    whole = size <= SNIFF_BYTES
    decoded = _decode(prefix, final=whole)
    if decoded.encoding not in _WHOLE_FILE or decoded.lines is not None:
        return None
    if decoded.encoding in ("utf-8", "utf-8-sig"):
        bom = len(codecs.BOM_UTF8) if decoded.encoding == "utf-8-sig" else 0
        head = _prefix(data, SNIFF_BYTES + bom)[bom:].decode("utf-8", errors="ignore")
        return _Streamed(decoded.encoding, data, head, size - bom, list(decoded.issues))
    encoding, skip = decoded.encoding, 0
    if encoding == "utf-16":
        encoding, skip = ("utf-16-le" if prefix.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"), 2
    handle, name = tempfile.mkstemp(prefix="crm-upload-", suffix=".csv")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            if not _transcode(_blocks(data, block), encoding, skip, out.write):
                temporary.unlink(missing_ok=True)
                return None
        return _Streamed(decoded.encoding, temporary, _prefix(temporary, SNIFF_BYTES).decode("utf-8", errors="ignore"),
                         temporary.stat().st_size, list(decoded.issues), temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _transcode(blocks: Iterator[bytes], encoding: str, skip: int, write: Callable[[bytes], object]) -> bool:
    """Decode ``blocks`` strictly in ``encoding`` and ``write`` them as UTF-8; False when a byte does not
    decode, or (GB18030, Big5) when a line reads better as UTF-8 (:func:`_utf8_lines_among`): the file is
    then for the whole-file cascade. Legacy blocks are cut after their last newline, which never sits
    inside a GB18030 or Big5 character, so every line is checked whole."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    legacy = encoding in _LEGACY
    carry = b""
    try:
        for number, block in enumerate(blocks):
            if number == 0:
                block = block[skip:]
            if legacy:
                block = carry + block
                cut = block.rfind(b"\n") + 1
                block, carry = (block[:cut], block[cut:]) if cut else (b"", block)
                if next(_utf8_lines_among(block, encoding), None) is not None:
                    return False
            write(decoder.decode(block).encode("utf-8"))
        if carry and next(_utf8_lines_among(carry, encoding), None) is not None:
            return False
        write(decoder.decode(carry, final=True).encode("utf-8"))
    except UnicodeDecodeError:
        return False
    return True


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
