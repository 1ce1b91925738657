"""Reading delimited text: encodings, delimiters, headers, footers, ragged and broken input."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from app.domain.validation import SourceKind
from app.services.reading import ROW_COLUMN, UnreadableFileError, open_source


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rows(path: Path) -> pl.DataFrame:
    source = open_source(path)
    try:
        return source.frame.collect()
    finally:
        source.close()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.csv", b"", "empty_file"),
        ("blank.csv", b"   \n\n \t \n", "blank_file"),
        ("garbage.csv", bytes(range(256)) * 40, "binary_garbage"),
        ("picture.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_a_spreadsheet"),
        ("broken.csv.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 10, "corrupt_gzip"),
        ("archive.csv", b"PK\x03\x04" + b"\x00" * 50, "corrupt_workbook"),
    ],
)
def test_unreadable_inputs_get_a_specific_code(tmp_path: Path, name: str, data: bytes, code: str):
    with pytest.raises(UnreadableFileError) as caught:
        open_source(_write(tmp_path, name, data))
    assert caught.value.code == code
    assert name in caught.value.message  # the message names the file it is about


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(UnreadableFileError) as missing:
        open_source(tmp_path / "nope.csv")
    assert missing.value.code == "not_found"
    with pytest.raises(UnreadableFileError) as folder:
        open_source(tmp_path)
    assert folder.value.code == "is_directory"


def test_utf8_bom_comma_file(tmp_path: Path):
    path = _write(tmp_path, "a.csv", "\ufeffname,city\nZoë,Köln\n".encode())
    source = open_source(path)
    assert source.kind is SourceKind.DELIMITED
    decisions = {d.name: d for d in source.decisions}
    assert decisions["encoding"].value == "utf-8-sig"
    assert "byte-order mark" in decisions["encoding"].reason
    assert source.frame.collect().row(0, named=True)["name"] == "Zoë"


def test_cp1252_text_is_detected_and_decoded(tmp_path: Path):
    from app.services.reading import ReadOptions

    path = _write(tmp_path, "w.csv", "name;price\nCafé;3,50\nCrème brûlée;4,20\n".encode("cp1252"))
    scratch = tmp_path / "scratch"
    source = open_source(path, ReadOptions(temp_dir=scratch))
    assert len(list(scratch.iterdir())) == 1  # the UTF-8 copy Polars scans
    try:
        decisions = {d.name: d.value for d in source.decisions}
        assert decisions["encoding"] == "cp1252"
        assert decisions["delimiter"] == ";"
        assert decisions["decimal_comma"] == "yes"
        assert source.frame.collect().get_column("name").to_list() == ["Café", "Crème brûlée"]
    finally:
        source.close()
    assert list(scratch.iterdir()) == []


def test_utf16_with_bom_is_transcoded_and_cleaned_up(tmp_path: Path):
    path = _write(tmp_path, "u.csv", "\ufeffid\tname\n1\tÅsa\n2\tŁukasz\n".encode("utf-16-le"))
    before = set(Path(tmp_path).iterdir())
    source = open_source(path)
    assert {d.name: d.value for d in source.decisions}["encoding"] == "utf-16"
    assert source.frame.collect().get_column("name").to_list() == ["Åsa", "Łukasz"]
    source.close()
    assert set(Path(tmp_path).iterdir()) == before


def test_delimiters_tab_and_pipe(tmp_path: Path):
    tab = _write(tmp_path, "t.tsv", b"a\tb\tc\n1\t2\t3\n4\t5\t6\n")
    pipe = _write(tmp_path, "p.txt", b"a|b|c\n1|2|3\n4|5|6\n")
    assert _rows(tab).columns == [ROW_COLUMN, "a", "b", "c"]
    assert _rows(pipe).get_column("c").to_list() == ["3", "6"]


def test_gzip_csv_is_read_streaming_through_a_temporary_copy(tmp_path: Path):
    path = _write(tmp_path, "g.csv.gz", gzip.compress(b"x,y\n1,2\n3,4\n"))
    frame = _rows(path)
    assert frame.get_column("y").to_list() == ["2", "4"]


def test_gzip_bomb_is_refused(tmp_path: Path):
    from app.services.reading import ReadOptions

    path = _write(tmp_path, "bomb.csv.gz", gzip.compress(b"a,b\n" + b"1,2\n" * 400_000))
    with pytest.raises(UnreadableFileError) as caught:
        open_source(path, ReadOptions(max_expanded_bytes=1024 * 1024)).frame.collect()
    assert caught.value.code == "decompression_bomb"
    assert "1 MB" in caught.value.message


def test_title_rows_are_skipped_and_rows_keep_their_line_numbers(tmp_path: Path):
    path = _write(tmp_path, "t.csv", b"Quarterly sales\nExported 2024-05-01\n\nid,qty\n1,5\n2,6\n")
    source = open_source(path)
    decisions = {d.name: d for d in source.decisions}
    assert decisions["header_row"].value == "4"
    assert "title" in decisions["header_row"].reason
    frame = source.frame.collect()
    assert frame.get_column(ROW_COLUMN).to_list() == [5, 6]
    assert frame.columns == [ROW_COLUMN, "id", "qty"]


def test_totals_and_note_rows_are_left_out(tmp_path: Path):
    path = _write(tmp_path, "f.csv", b"region,amount\nNorth,10\nSouth,20\nTotal,30\n")
    source = open_source(path)
    assert source.footer_rows == 1
    assert source.frame.collect().get_column("region").to_list() == ["North", "South"]
    assert any(i.code == "footer_rows" for i in source.issues)


def test_quoted_newlines_are_one_record(tmp_path: Path):
    data = b'id,comment\n1,"first line\nsecond line"\n2,plain\n'
    source = open_source(_write(tmp_path, "q.csv", data))
    frame = source.frame.collect()
    assert frame.height == 2
    assert frame.get_column("comment")[0] == "first line\nsecond line"
    assert {d.name: d.value for d in source.decisions}.get("quoted_newlines") == "yes"


def test_ragged_rows_are_reported_with_row_numbers(tmp_path: Path):
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    source = open_source(_write(tmp_path, "r.csv", data))
    by_code = {i.code: i for i in source.issues}
    assert by_code["too_few_fields"].row == 3
    assert by_code["too_many_fields"].row == 4
    assert "'9'" in by_code["too_many_fields"].message
    assert source.frame.collect().height == 4


def test_duplicate_and_blank_headers_are_made_unique(tmp_path: Path):
    source = open_source(_write(tmp_path, "h.csv", b"id,,id,name\n1,2,3,x\n"))
    assert source.columns == ("id", "column_2", "id_2", "name")
    codes = sorted(i.code for i in source.issues)
    assert codes == ["blank_header", "duplicate_header"]


def test_1500_columns(tmp_path: Path):
    header = ",".join(f"c{i}" for i in range(1500))
    row = ",".join(str(i) for i in range(1500))
    source = open_source(_write(tmp_path, "wide.csv", f"{header}\n{row}\n{row}\n".encode()))
    frame = source.frame.collect()
    assert frame.width == 1501
    assert frame.get_column("c1499").to_list() == ["1499", "1499"]


def test_csv_named_xlsx_is_read_as_text_with_a_warning(tmp_path: Path):
    source = open_source(_write(tmp_path, "report.xlsx", b"a,b\n1,2\n"))
    assert source.kind is SourceKind.DELIMITED
    assert any(i.code == "misnamed_file" for i in source.issues)


def test_user_overrides_beat_the_sniffers(tmp_path: Path):
    from app.services.reading import ReadOptions

    path = _write(tmp_path, "o.csv", "x;y\n1;2\n".encode("latin-1"))
    source = open_source(path, ReadOptions(delimiter=",", encoding="latin-1"))
    decisions = {d.name: d for d in source.decisions}
    assert decisions["delimiter"].reason == "chosen by the user"
    assert source.columns == ("x;y",)
