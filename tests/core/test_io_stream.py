"""Big text files are read from the file (or its UTF-8 transcoding, block by block), never whole into memory,
and load exactly as the whole-file cascade would; an upload read in the capped child comes back whole."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import polars as pl
import pytest

import crm_core.io.readers as readers
from crm_core.io import read_table
from crm_core.io.encoding import _stream_utf8
from crm_core.io.isolated import read_table_isolated
from crm_core.io.limits import SNIFF_BYTES

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
ORIGINAL_LINES = (REAL / "ta_feng_original.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
HEADER = {"simplified": "客户编号,下单时间,金额,地区\n", "traditional": "會員卡號,日期,金額,地區\n"}
REGION = {"simplified": "华东", "traditional": "華東"}


def script(encoding: str) -> str:
    return "traditional" if encoding == "big5" else "simplified"


def lines(count: int, region: str = "华东") -> str:
    return "".join(f"K{i % 97},2024-01-{1 + i % 28:02d},{10 + i % 5}.50,{region}\n" for i in range(count))


def big(encoding: str, count: int = 6000) -> bytes:
    """A file well past the sniffing window (64 KiB) in one encoding."""
    data = (HEADER[script(encoding)] + lines(count, REGION[script(encoding)])).encode(encoding)
    assert len(data) > 2 * SNIFF_BYTES
    return data


@pytest.fixture
def no_whole_reads(monkeypatch):
    """Reading the whole file into memory fails the test: the streamed path must not need it."""
    def refuse(data):
        raise AssertionError("the whole file was read into memory")
    monkeypatch.setattr(readers, "_all_bytes", refuse)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "big5", "utf-16"])
def test_a_file_in_one_encoding_is_read_without_holding_it_whole(encoding, tmp_path, no_whole_reads):
    path = tmp_path / "export.csv"
    path.write_bytes(big(encoding))
    result = read_table(path)
    assert result.df.height == 6000 and result.report.problems == ()
    assert result.df["amount"].sum() == pytest.approx(sum(10 + i % 5 + 0.5 for i in range(6000)))
    assert set(result.df["region"]) == {REGION[script(encoding)]}
    assert result.report.encoding == {"big5": "cp950"}.get(encoding, encoding)


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16-le"])
def test_transcoding_in_small_blocks_gives_the_same_text_as_decoding_whole(encoding):
    data = big(encoding)
    streamed = _stream_utf8(data, len(data), block=4099)  # blocks cut inside lines and characters
    assert streamed is not None and streamed.temporary is not None
    try:
        assert streamed.temporary.read_bytes().decode("utf-8").lstrip("\ufeff") == data.decode(encoding)
    finally:
        streamed.temporary.unlink()


def test_utf8_lines_after_the_sniffing_window_of_a_gb18030_file_are_still_found():
    """The first 64 KiB read as GB18030 only; a UTF-8 line pasted in far below still makes it a mix."""
    data = big("gb18030") + lines(3, "华南").encode("utf-8")
    assert _stream_utf8(data, len(data)) is None
    result = read_table(data)
    mixed = next(i for i in result.report.issues if i.key == "encoding_mixed")
    assert mixed.count == 3 and mixed.params["encoding"] == "GB18030" and mixed.params["other"] == "UTF-8"
    assert result.df.height == 6003 and set(result.df["region"]) == {"华东", "华南"}


def test_gbk_lines_after_the_sniffing_window_of_a_utf8_file_are_read_as_gbk(tmp_path):
    """polars refuses the first byte that is not UTF-8; the file then goes through the whole-file cascade."""
    path = tmp_path / "export.csv"
    path.write_bytes(big("utf-8") + lines(2, "华南").encode("gb18030"))
    result = read_table(path)
    mixed = next(i for i in result.report.issues if i.key == "encoding_mixed")
    assert mixed.count == 2 and mixed.params["other"] == "GB18030"
    assert result.df.filter(pl.col("region") == "华南").height == 2 and result.report.problems == ()


def test_a_transcoding_that_fails_late_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = big("big5") + b"K1,2024-01-01,1,\xff\xff\n"   # a byte Big5 does not have, far below the start
    assert _stream_utf8(data, len(data)) is None
    assert list(tmp_path.glob("crm-*")) == []
    assert read_table(data).df.height == 6000   # the bad line is dropped and reported, as before


def test_an_upload_read_in_the_child_comes_back_whole_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = big("gb18030") + "K1,not a date,5,华东\n".encode("gb18030")
    upload = io.BytesIO(data)
    upload.name = "订单.csv"
    isolated, direct = read_table_isolated(upload), read_table(data)
    assert isolated.df.equals(direct.df) and isolated.rejected.equals(direct.rejected)
    assert isolated.rejected.height == 1 and isolated.report.source_name == "订单.csv"
    assert isolated.report.issues == direct.report.issues
    assert list(tmp_path.glob("crm-*")) == []


@pytest.mark.parametrize("name", ["ta_feng_original.csv", "ta_feng_big5.csv", "ta_feng_gb18030.csv"])
def test_real_exports_stream_and_load_the_same_lines_customers_and_sales(name, no_whole_reads):
    """The Ta-Feng shapes (tests/data/real, each past the sniffing window) take the streamed path and load
    to the figures test_io_real counts with the csv module."""
    result = read_table(REAL / name)
    assert result.df.height == 4394 and result.df["amount"].sum() == 524094
    assert result.df["customer_id"].n_unique() == len({line.split(",")[1] for line in ORIGINAL_LINES})
    assert result.report.problems == ()
