"""Readers: every format and encoding, row numbering, the platform layout, and every way a file can be broken.

Expected values are written out by hand (or, in the property-based tests, computed from what was written with
Python's csv module and openpyxl), never taken from the reader itself. Besides, the two readings of a text file
(Arrow's, and the csv module's alone: the strict path) are checked against each other on files of every kind,
table for table and error for error.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import math
import re
import tempfile
import zipfile
from pathlib import Path
from unittest import mock
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from survey_audit.errors import ConfigError, InputError, SurveyAuditError
from survey_audit.intake import readers
from survey_audit.intake.readers import decode, read_raw, sniff_delimiter


def read(tmp_path: Path, data: bytes | str, name: str = "raw.csv", **options):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return read_raw(path, **options)


def fails(tmp_path: Path, data: bytes | str, name: str = "raw.csv", error=InputError, **options):
    with pytest.raises(error) as info:
        read(tmp_path, data, name, **options)
    return info.value


def rows(table) -> list[list[str]]:
    return table.frame.values.tolist()


def lines(table) -> list[int]:
    return [int(r) for r in table.source_rows]


# --------------------------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    other = next(d for d in ",;|" if d != delimiter)  # a different delimiter inside a value
    text = delimiter.join(["id", "answer", "age"]) + "\n"
    text += delimiter.join(["1", f"a{other}b", "30"]) + "\n"
    text += delimiter.join(["2", "", "31"]) + "\n"
    table = read(tmp_path, text)
    assert table.delimiter == delimiter
    assert table.columns == ["id", "answer", "age"]
    assert rows(table) == [["1", f"a{other}b", "30"], ["2", "", "31"]]


def test_sniffing_prefers_the_delimiter_that_splits_the_header():
    # decimal commas inside a semicolon file, semicolons inside free text of a comma file
    assert sniff_delimiter("id;score\n1;2,5\n2;3,75\n") == ";"
    assert sniff_delimiter('id,comment\n1,"a; b; c"\n2,x;y\n') == ","
    assert sniff_delimiter("id|q1|q2\n1|a,b|c;d\n") == "|"
    assert sniff_delimiter("only\n1\n") == ","  # undecidable: the default


def test_declared_delimiter_is_used_and_checked(tmp_path):
    assert rows(read(tmp_path, "id;name\n1;a,b\n", delimiter=";")) == [["1", "a,b"]]
    assert read(tmp_path, "id\tname\n1\tx\n", delimiter="tab").delimiter == "\t"
    error = fails(tmp_path, "id,name\n1,x\n", delimiter=";")
    assert error.problem == (
        "split on the declared delimiter ';' (semicolon) the header is a single column, but split on ',' (comma)"
        " it has 2 columns"
    )
    assert error.row == 1 and str(error.value) == "'id,name'"
    with pytest.raises(ConfigError, match="is not a single character"):
        read(tmp_path, "id,name\n1,x\n", delimiter=";;")


# --------------------------------------------------------------------------------------------- encodings

TEXT = "id,name\n1,José “Zé” Müller – 5 €\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (codecs.BOM_UTF16_LE + TEXT.replace("\n", "\r\n").encode("utf-16-le"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-be", "utf-16-le-crlf", "cp1252"],
)
def test_encoding_is_detected_and_recorded(tmp_path, data, encoding):
    table = read(tmp_path, data)
    assert table.encoding == encoding
    assert table.columns == ["id", "name"]  # no byte-order mark in the first column name
    assert rows(table) == [["1", "José “Zé” Müller – 5 €"]]
    assert lines(table) == [2]


def test_latin1_file_is_read_as_cp1252(tmp_path):
    # bytes 0xA0-0xFF mean the same in Latin-1 and cp1252: the text is Latin-1's, the encoding recorded cp1252
    data = "id,name\n1,Ñandú ½ ©\n".encode("latin-1")
    table = read(tmp_path, data)
    assert table.encoding == "cp1252"
    assert rows(table) == [["1", "Ñandú ½ ©"]]
    declared = read(tmp_path, data, encoding="latin-1")
    assert declared.encoding == "iso8859-1" and rows(declared) == [["1", "Ñandú ½ ©"]]


def test_declared_latin1_refuses_cp1252_punctuation(tmp_path):
    error = fails(tmp_path, b"id,name\n1,x\n2,\x93quoted\x94\n", encoding="latin-1", private=())
    assert error.problem == (
        "byte 0x93 is an invisible control character in Latin-1 (ISO-8859-1); the file is most likely"
        " Windows-1252 (cp1252), where it is '“'"
    )
    assert (error.row, error.column) == (3, "name")
    assert str(error.value) == r"byte 0x93 in the value '\x93quoted\x94'"


def test_cp1252_bytes_that_are_also_utf8_read_as_utf8_unless_declared(tmp_path):
    data = "id,name\n1,Ã©\n".encode("cp1252")  # b"\xc3\xa9": valid UTF-8 for "é"
    assert rows(read(tmp_path, data)) == [["1", "é"]]
    assert rows(read(tmp_path, data, encoding="cp1252")) == [["1", "Ã©"]]


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_byte_in_neither_utf8_nor_cp1252_names_row_column_and_value(tmp_path, byte):
    data = b"id,name,city\n1,Ann,Lyon\n2,Jos" + bytes([byte]) + b",Paris\n"
    error = fails(tmp_path, data, private=())
    assert error.problem == (
        f"the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x{byte:02X} is a character in neither"
    )
    assert (error.row, error.column) == (3, "name")
    assert str(error.value) == f"byte 0x{byte:02X} in the value 'Jos\\x{byte:02x}'"


def test_undecodable_byte_in_a_multiline_value_names_the_row_the_record_starts_on(tmp_path):
    data = b'id,comment\n1,"first line\nsecond \x8d line"\n2,x\n'
    error = fails(tmp_path, data)
    assert (error.row, error.column) == (2, "comment")


def test_undecodable_byte_in_the_header_names_row_1(tmp_path):
    error = fails(tmp_path, b"id,n\x81me\n1,x\n")
    assert (error.row, error.column) == (1, None)
    assert str(error.value) == r"byte 0x81 in the value 'n\x81me'"


def test_file_mixing_utf8_and_cp1252_is_refused(tmp_path):
    data = "id,name\n1,José\n".encode() + "2,René\n".encode("cp1252")
    error = fails(tmp_path, data, private=())
    assert error.problem == (
        "the file mixes encodings: it holds UTF-8 text (from line 2) but byte 0xE9 here is not valid UTF-8"
    )
    assert (error.row, error.column) == (3, "name")
    assert str(error.value) == r"byte 0xE9 in the value 'Ren\xe9'"
    with pytest.raises(InputError, match="the codebook declares the encoding 'utf-8', but byte 0xE9 here is not valid"):
        read(tmp_path, data, encoding="utf-8")


def test_utf8_bom_then_invalid_bytes(tmp_path):
    error = fails(tmp_path, codecs.BOM_UTF8 + b"id,name\n1,Ren\xe9\n")
    assert error.problem == "the file starts with a UTF-8 byte-order mark, but byte 0xE9 here is not valid UTF-8"
    assert (error.row, error.column) == (2, "name")


def test_utf16_without_bom_is_refused_unless_declared(tmp_path):
    data = "id,name\n1,José\n".encode("utf-16-le")
    error = fails(tmp_path, data)
    assert error.problem == "the file contains a NUL character (byte 0x00), which text files never hold"
    assert error.row == 1
    assert "utf-16-le" in error.hint
    table = read(tmp_path, data, encoding="utf-16-le")
    assert table.encoding == "utf-16-le" and rows(table) == [["1", "José"]]


def test_unknown_declared_encoding_is_a_configuration_problem(tmp_path):
    with pytest.raises(ConfigError, match="'klingon' is not a known text encoding"):
        read(tmp_path, "id\n1\n", encoding="klingon")


def test_decode_returns_text_and_encoding():
    assert decode(b"a,b\n", "auto") == ("a,b\n", "utf-8")
    assert decode(codecs.BOM_UTF8 + b"a\n", "utf-8") == ("a\n", "utf-8-sig")
    assert decode(b"\x93a\x94\n", "auto") == ("“a”\n", "cp1252")


# --------------------------------------------------------------------------------------------- row numbers


def test_rows_are_the_lines_records_start_on(tmp_path):
    text = (
        "\n"  # a blank line before the header
        "id,comment,age\n"  # line 2
        '1,"two\nlines",30\n'  # lines 3-4
        "\n"  # line 5: blank
        '2,"three\r\nlines\rhere",31\n'  # lines 6-8 (\r\n, then a lone \r)
        ",,\n"  # line 9: every value blank
        "3,,32\n"  # line 10
    )
    table = read(tmp_path, text)
    assert lines(table) == [3, 6, 10]
    assert rows(table) == [["1", "two\nlines", "30"], ["2", "three\r\nlines\rhere", "31"], ["3", "", "32"]]
    assert table.blank_rows == (5, 9)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path, newline):
    text = newline.join(["id,age", "1,30", "2,31", ""])
    table = read(tmp_path, text)
    assert lines(table) == [2, 3] and rows(table) == [["1", "30"], ["2", "31"]]


def test_values_keep_spaces_and_quotes(tmp_path):
    table = read(tmp_path, 'id,name\n1, padded \n2,"say ""hi"""\n3,a"b\n')
    assert rows(table) == [["1", " padded "], ["2", 'say "hi"'], ["3", 'a"b']]


# --------------------------------------------------------------------------------------------- broken text files


@pytest.mark.parametrize("data", [b"", b"  \n\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n", b'""\n'])
def test_empty_file(tmp_path, data):
    error = fails(tmp_path, data)
    assert error.problem == "the file is empty" and error.row is None


def test_header_only(tmp_path):
    assert fails(tmp_path, "id,age\n").problem == "the file has a header but no responses"
    assert fails(tmp_path, "id,age\n,\n\n").problem == "the file has a header but no responses"
    platform = 'id,age\nID,Age?\n"{""ImportId"":""_recordId""}","{""ImportId"":""QID2""}"\n'
    assert fails(tmp_path, platform).problem == "the file has a header but no responses"


def test_duplicate_column_name(tmp_path):
    error = fails(tmp_path, "id,age,gender,age\n1,2,3,4\n")
    assert error.problem == "the column name 'age' appears twice in the header (columns 2 and 4)"
    assert (error.row, error.column) == (1, "age")


def test_a_value_is_described_not_shown_in_a_private_column_and_when_no_codebook_says_which_are(tmp_path):
    data = b"id,email,age\n1,jane.d\x81e@example.org,30\n"
    for options in ({"private": ["email"]}, {}):  # the codebook's private columns; no codebook at all
        error = fails(tmp_path, data, **options)
        assert (error.row, error.column) == (2, "email")
        assert str(error.value) == "byte 0x81 in an e-mail address of 20 characters, at character 7"
        assert "jane" not in error.message and "example" not in error.message
    assert str(fails(tmp_path, data, private=["id"]).value) == str(error.value)  # an address is never shown
    shown = fails(tmp_path, b"id,name\n1,Jo\x81\n", private=["id"])
    assert str(shown.value) == r"byte 0x81 in the value 'Jo\x81'"  # a short code of a column that may be shown


@pytest.mark.parametrize(
    "kind, name, problem, hint",
    [
        ("xlsx", "raw.csv", "an Excel workbook (or another zip archive) saved with a .csv extension", "end in .xlsx"),
        ("xls", "raw.csv", "an old-style Excel workbook (.xls, or another Office file) saved with a .csv extension",
         "save it as .xlsx"),
        ("xls", "raw.xlsx", "an old-style Excel workbook (.xls, or another Office file) saved with a .xlsx extension",
         "save it as .xlsx"),
        ("sav", "raw.txt", "an SPSS data file saved with a .txt extension", "end in .sav"),
        ("dta", "raw.tsv", "a Stata data file saved with a .tsv extension", "end in .dta"),
        ("sav", "raw.dta", "an SPSS data file saved with a .dta extension", "end in .sav"),
    ],
)  # fmt: skip
def test_a_file_under_another_kind_of_extension_is_named_for_what_it_is(tmp_path, kind, name, problem, hint):
    path = tmp_path / name
    frame = pd.DataFrame({"id": [1.0, 2.0], "age": [30.0, 31.0]})
    if kind == "xlsx":
        frame.to_excel(tmp_path / "made.xlsx", index=False)
        path.write_bytes((tmp_path / "made.xlsx").read_bytes())
    elif kind == "xls":  # the compound-file header every .xls workbook starts with
        path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    else:
        (pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta)(frame, str(path))
    with pytest.raises(InputError) as info:
        read_raw(path)
    assert (info.value.file, info.value.problem) == (str(path), f"the file is {problem}")
    assert hint in info.value.hint


def test_blank_column_name(tmp_path):
    error = fails(tmp_path, "id, ,age\n1,2,3\n")
    assert error.problem == "column 2 of the header has no name"
    assert error.row == 1


def test_trailing_unnamed_columns_are_allowed_while_empty(tmp_path):
    # spreadsheets often save a trailing delimiter on every line
    table = read(tmp_path, "id,age,\n1,30,\n2,31\n")
    assert table.columns == ["id", "age"] and rows(table) == [["1", "30"], ["2", "31"]]
    error = fails(tmp_path, "id,age,\n1,30,\n2,31,oops\n", private=())
    assert error.problem == "the row has a value in column 3, beyond the last named column"
    assert (error.row, str(error.value)) == (3, "a text of 4 characters")  # under no column: never shown


def test_row_with_fewer_values_names_the_first_column_without_one(tmp_path):
    error = fails(tmp_path, "id,age,gender\n1,30,f\n2,31\n3,32,m\n")
    assert error.problem == "the row has 2 values but the header has 3 columns"
    assert (error.row, error.column) == (3, "gender")


def test_file_cut_off_in_its_last_row(tmp_path):
    error = fails(tmp_path, "id,age,gender\n1,30,f\n2,3")
    assert error.problem == (
        "the row has 2 values but the header has 3 columns; the file ends on this row without a line break, so it"
        " was probably cut off"
    )
    assert (error.row, error.column) == (3, "gender")


def test_file_cut_off_inside_a_quoted_value(tmp_path):
    error = fails(tmp_path, 'id,comment,age\n1,"fine",30\n2,"this value\nwas cut', private=())
    assert error.problem == "the file ends inside a quoted value: the quote opened on this row is never closed"
    assert (error.row, error.column) == (3, "comment")
    assert str(error.value) == "a text of 18 characters on 2 lines"  # longer than a code: described


def test_row_with_more_values_than_the_header(tmp_path):
    error = fails(tmp_path, "id,comment,age\n1,fine,30\n2,one, two,31\n", private=())
    assert error.problem == "the row has 4 values but the header has 3 columns"
    assert (error.row, error.column, str(error.value)) == (3, None, "a number of 2 characters")


def test_text_after_a_closing_quote(tmp_path):
    error = fails(tmp_path, 'id,comment,age\n1,"said "no" twice",30\n', private=())
    assert error.problem == "a quoted value is followed by other text before the next delimiter"
    assert (error.row, error.column) == (2, "comment")
    assert str(error.value) == "'said '"


def test_unbalanced_quote_running_over_several_lines(tmp_path):
    error = fails(tmp_path, 'id,comment,age\n1,"unclosed,30\n2,b,31\n3,"c",32\n')
    assert error.problem == (
        "a quoted value, which runs on to row 4, is followed by other text before the next delimiter"
    )
    assert (error.row, error.column) == (2, "comment")


def test_repeated_header_row(tmp_path):
    error = fails(tmp_path, "id,age\n1,30\nid,age\n2,31\n")
    assert error.problem == "the row repeats the header row (were two exports joined?)"
    assert error.row == 3


def test_missing_directory_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="the raw data file does not exist"):
        read_raw(tmp_path / "nowhere.csv")
    with pytest.raises(InputError, match="the raw data path is a directory"):
        read_raw(tmp_path)
    error = fails(tmp_path, b"\xd0\xcf\x11\xe0", name="old.xls")
    assert error.problem == "files ending in '.xls' cannot be read" and "xlsx" in error.hint
    with pytest.raises(ConfigError, match="'sideways' is not a file layout"):
        read(tmp_path, "id\n1\n", layout="sideways")


# --------------------------------------------------------------------------------------------- platform layout

PLATFORM = (
    "ResponseId,Q1,Q2\n"
    'Response ID,"How old were you\nwhen it started?","What happened, in your words?"\n'
    '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}","{""ImportId"":""QID2_TEXT"",""timeZone"":""x""}"\n'
    "R_1,14,a\n"
    'R_2,15,"b\nc"\n'
    "R_3,16,d\n"
)


def test_platform_layout_is_detected(tmp_path):
    table = read(tmp_path, PLATFORM)
    assert table.layout == "platform"
    assert table.columns == ["ResponseId", "Q1", "Q2"]
    assert table.question_text == {
        "ResponseId": "Response ID",
        "Q1": "How old were you\nwhen it started?",
        "Q2": "What happened, in your words?",
    }
    assert table.import_ids == {"ResponseId": "_recordId", "Q1": "QID1", "Q2": "QID2_TEXT"}
    # the question text spans lines 2-3, the import ids are on line 4
    assert lines(table) == [5, 6, 8]
    assert rows(table) == [["R_1", "14", "a"], ["R_2", "15", "b\nc"], ["R_3", "16", "d"]]
    assert read(tmp_path, PLATFORM, layout="platform").layout == "platform"


def test_plain_layout_is_detected(tmp_path):
    table = read(tmp_path, "ResponseId,Q1\nR_1,14\nR_2,15\n")
    assert table.layout == "plain" and lines(table) == [2, 3] and table.question_text == {}


def test_platform_declared_but_no_import_id_row(tmp_path):
    error = fails(tmp_path, "ResponseId,Q1\nResponse ID,Age?\nR_1,14\n", layout="platform", private=())
    assert error.problem == (
        "the file is declared as a survey-platform export (layout: platform), but its third row is not the"
        " import-id row"
    )
    assert (error.row, str(error.value)) == (3, "'R_1'")


def test_import_id_row_without_question_text_row(tmp_path):
    text = 'ResponseId,Q1\n"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\nR_1,14\n'
    error = fails(tmp_path, text)
    assert error.problem == (
        "the second row is a survey-platform import-id row, but the question-text row that belongs above it is missing"
    )
    assert (error.row, str(error.value)) == (2, """'{"ImportId":"_recordId"}'""")


def test_plain_declared_for_a_platform_export(tmp_path):
    error = fails(tmp_path, PLATFORM, layout="plain")
    assert error.problem.startswith("the file is declared as having one header row (layout: plain)")
    assert error.row == 4


def test_platform_header_rows_must_have_every_column(tmp_path):
    text = 'ResponseId,Q1,Q2\nResponse ID,Age?\n"{""ImportId"":""_recordId""}",x,y\nR_1,14,a\n'
    error = fails(tmp_path, text)
    assert error.problem == "the row has 2 values but the header has 3 columns"
    assert (error.row, error.column) == (2, "Q2")


# --------------------------------------------------------------------------------------------- XLSX


def write_xlsx(path: Path, cells: dict[tuple[int, int], object], sheet: str = "Sheet", extra_sheet: str | None = None):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for (row, column), value in cells.items():
        ws.cell(row, column, value)
    if extra_sheet:
        book.create_sheet(extra_sheet).cell(1, 1, "other")
    book.save(path)
    return path


def grid(rows_: list[list], first_row: int = 1) -> dict[tuple[int, int], object]:
    return {
        (r, c): v for r, row in enumerate(rows_, start=first_row) for c, v in enumerate(row, start=1) if v is not None
    }


def test_xlsx_cells_as_text(tmp_path):
    path = write_xlsx(
        tmp_path / "raw.xlsx",
        grid(
            [
                ["id", "n", "x", "date", "when", "flag", "code"],
                [1, 2.0, 0.1 + 0.2, dt.date(2016, 5, 1), dt.datetime(2016, 5, 1, 10, 30), True, "01"],
                [2, -3, 1.5, dt.datetime(2016, 5, 2), dt.datetime(2016, 5, 2, 0, 0, 5), False, " 1 "],
                [3, None, 12345678.25, None, None, None, None],
            ],
        ),
    )
    table = read_raw(path)
    assert table.columns == ["id", "n", "x", "date", "when", "flag", "code"]
    assert rows(table) == [
        ["1", "2", "0.3", "2016-05-01", "2016-05-01 10:30:00", "TRUE", "01"],
        ["2", "-3", "1.5", "2016-05-02", "2016-05-02 00:00:05", "FALSE", " 1 "],
        ["3", "", "12345678.25", "", "", "", ""],
    ]
    assert lines(table) == [2, 3, 4] and table.sheet == "Sheet" and table.encoding is None


def test_xlsx_rows_are_spreadsheet_rows(tmp_path):
    # the header on row 3, a blank row 5 between responses, a short row padded with blanks
    path = write_xlsx(tmp_path / "raw.xlsx", grid([["id", "age", "note"], [1, 30, "a"], [], [2, 31]], first_row=3))
    table = read_raw(path)
    assert lines(table) == [4, 6] and table.blank_rows == (5,)
    assert rows(table) == [["1", "30", "a"], ["2", "31", ""]]


def test_xlsx_sheet_by_name_or_index(tmp_path):
    path = write_xlsx(tmp_path / "raw.xlsx", grid([["id"], [7]]), sheet="Responses", extra_sheet="Notes")
    assert rows(read_raw(path)) == [["7"]]
    assert rows(read_raw(path, sheet="Responses")) == [["7"]]
    with pytest.raises(InputError, match="the file has a header but no responses"):
        read_raw(path, sheet=1)  # the second sheet holds only a header cell
    with pytest.raises(InputError) as info:
        read_raw(path, sheet="Answers")
    assert info.value.problem == "the workbook has no sheet named 'Answers'"
    assert info.value.expected == "one of 'Responses', 'Notes'"
    with pytest.raises(InputError, match="the workbook has no sheet number 2"):
        read_raw(path, sheet=2)


def test_xlsx_value_beyond_the_last_named_column(tmp_path):
    path = write_xlsx(tmp_path / "raw.xlsx", grid([["id", "age"], [1, 30], [2, 31, None, "stray"]]))
    with pytest.raises(InputError) as info:
        read_raw(path, private=())
    error = info.value
    assert error.problem == "the row has a value in column D, beyond the last named column"
    assert (error.row, str(error.value)) == (3, "a text of 5 characters")


def test_xlsx_blank_header_cell(tmp_path):
    path = write_xlsx(tmp_path / "raw.xlsx", grid([["id", None, "age"], [1, 2, 3]]))
    with pytest.raises(InputError, match=r"^Input problem in .*, row 1: column B of the header has no name"):
        read_raw(path)


def test_xlsx_empty_sheet_and_header_only(tmp_path):
    with pytest.raises(InputError, match="the sheet 'Sheet' is empty"):
        read_raw(write_xlsx(tmp_path / "empty.xlsx", {}))
    with pytest.raises(InputError, match="the file has a header but no responses"):
        read_raw(write_xlsx(tmp_path / "header.xlsx", grid([["id", "age"]])))


def test_xlsx_platform_layout(tmp_path):
    cells = grid(
        [
            ["ResponseId", "Q1"],
            ["Response ID", "Age?"],
            ['{"ImportId":"_recordId"}', '{"ImportId":"QID1"}'],
            ["R_1", 14],
        ]
    )
    table = read_raw(write_xlsx(tmp_path / "raw.xlsx", cells))
    assert table.layout == "platform" and lines(table) == [4] and rows(table) == [["R_1", "14"]]
    assert table.import_ids == {"ResponseId": "_recordId", "Q1": "QID1"}


def test_xlsx_with_wrong_stored_dimensions_is_read_whole(tmp_path):
    path = write_xlsx(tmp_path / "raw.xlsx", grid([["id", "age"], [1, 30], [2, 31]]))
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet, count = re.subn(
        rb'<dimension ref="A1:B3"\s*/>', b'<dimension ref="A1:A2"/>', parts["xl/worksheets/sheet1.xml"]
    )
    assert count == 1  # the workbook now claims to hold only A1:A2
    parts["xl/worksheets/sheet1.xml"] = sheet
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    assert rows(read_raw(path)) == [["1", "30"], ["2", "31"]]


def test_damaged_xlsx(tmp_path):
    error = fails(tmp_path, b"not a zip file", name="raw.xlsx")
    assert error.problem.startswith("the spreadsheet cannot be opened")


# --------------------------------------------------------------------------------------------- SPSS and Stata


def test_sav_codes_labels_question_text_and_case_numbers(tmp_path):
    frame = pd.DataFrame(
        {
            "id": ["P1", "P2", "P3"],
            "gender": [1.0, 2.0, np.nan],
            "age": [25.0, 30.5, -99.0],
            "recorded": [dt.datetime(2016, 5, 1, 10, 0), dt.datetime(2016, 5, 2), None],
            "comment": ["a", "", "c"],
        }
    )
    path = tmp_path / "raw.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels=["Respondent", "What is your gender?", "Age", "Recorded", None],
        variable_value_labels={"gender": {1.0: "Female", 2.0: "Male"}, "age": {-99.0: "Refused"}},
        missing_ranges={"age": [-99.0]},
    )
    table = read_raw(path)
    assert rows(table) == [
        ["P1", "1", "25", "2016-05-01 10:00:00", "a"],
        ["P2", "2", "30.5", "2016-05-02", ""],
        ["P3", "", "-99", "", "c"],  # a user-missing code is kept as its code
    ]
    assert lines(table) == [1, 2, 3]
    assert table.value_labels == {"gender": {"1": "Female", "2": "Male"}, "age": {"-99": "Refused"}}
    assert table.question_text == {
        "id": "Respondent",
        "gender": "What is your gender?",
        "age": "Age",
        "recorded": "Recorded",
    }
    assert table.encoding == "UTF-8"


def test_dta_codes_labels_and_extended_missing(tmp_path):
    frame = pd.DataFrame({"id": ["P1", "P2", "P3"], "gender": [1, 2, "a"], "year": [2016.0, 2017.0, np.nan]})
    path = tmp_path / "raw.dta"
    pyreadstat.write_dta(
        frame,
        str(path),
        missing_user_values={"gender": ["a"]},
        variable_value_labels={"gender": {1: "Female", 2: "Male", "a": "Refused"}},
    )
    table = read_raw(path)
    assert rows(table) == [["P1", "1", "2016"], ["P2", "2", "2017"], ["P3", ".a", ""]]
    assert table.value_labels == {"gender": {"1": "Female", "2": "Male", ".a": "Refused"}}
    assert lines(table) == [1, 2, 3]


@pytest.mark.parametrize("kind", ["sav", "dta"])
def test_a_blank_case_in_a_statistical_file_is_skipped_as_a_blank_row(tmp_path, kind):
    frame = pd.DataFrame({"id": ["P1", "", "P3"], "gender": [1.0, np.nan, 2.0]})
    path = tmp_path / f"raw.{kind}"
    (pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta)(frame, str(path))
    table = read_raw(path)
    assert rows(table) == [["P1", "1"], ["P3", "2"]]
    assert lines(table) == [1, 3] and table.blank_rows == (2,)


def test_statistical_files_without_cases_or_damaged(tmp_path):
    path = tmp_path / "empty.sav"
    pyreadstat.write_sav(pd.DataFrame({"id": pd.Series([], dtype=str)}), str(path))
    with pytest.raises(InputError, match="the file has a header but no responses"):
        read_raw(path)
    error = fails(tmp_path, b"garbage", name="raw.dta")
    assert error.problem.startswith("the Stata file cannot be read")


# --------------------------------------------------------------------------------------------- size


def test_large_file_is_read_with_right_row_numbers(tmp_path):
    n = 100_000
    body = "".join(f'R{i},{i % 90},"a, b",x\n' for i in range(n))
    table = read(tmp_path, "id,age,multi,note\n" + body)
    assert len(table) == n
    assert lines(table)[-1] == n + 1 and rows(table)[-1] == [f"R{n - 1}", str((n - 1) % 90), "a, b", "x"]


# --------------------------------------------------------------------------------------------- properties

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
SPECIALS = [",", ";", "\t", "|", '"', "\n", "\r\n", "\r", " ", "  padded  ", "é", "€", "“”", "{", "ß", "\u00a0", "日本"]
NAME_CHARS = st.characters(
    categories=("L", "N"), include_characters="_ -.?()", exclude_characters=',;\t|"\r\n\x85\u2028\u2029'
)


def _values(alphabet, specials: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.text(alphabet, max_size=10), st.sampled_from(specials), st.just(""))


def _tables(alphabet, names_alphabet=NAME_CHARS, specials: list[str] = SPECIALS, max_rows: int = 6):
    @st.composite
    def build(draw):
        width = draw(st.integers(2, 5))
        names = draw(
            st.lists(
                st.text(names_alphabet, min_size=1, max_size=8).filter(lambda s: s.strip() and not s.startswith("{")),
                min_size=width,
                max_size=width,
                unique=True,
            )
        )
        body = draw(
            st.lists(
                st.lists(_values(alphabet, specials), min_size=width, max_size=width), min_size=1, max_size=max_rows
            )
        )
        assume(any(any(v.strip() for v in row) for row in body))
        assume(all(row != names for row in body))
        return names, body

    return build()


ANY_TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def expected_lines(text_of_records: list[str]) -> list[int]:
    """The line each written record starts on: one more than the line breaks written before it."""
    starts, written = [], 0
    for record in text_of_records:
        starts.append(written + 1)
        written += len(_LINE_BREAK.findall(record))
    return starts


def write_csv(names, body, delimiter, lineterminator, quoting) -> tuple[str, list[int]]:
    records = []
    for row in [names, *body]:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting).writerow(row)
        records.append(buffer.getvalue())
    return "".join(records), expected_lines(records)


def check_round_trip(table, names, body, starts) -> None:
    """The table read holds the rows written with a value (blank rows skipped and recorded) at the rows they
    start on; ``starts`` are the rows of the header and of each record."""
    header, starts = starts[0], starts[1:]
    kept = [(line, row) for line, row in zip(starts, body) if any(v.strip() for v in row)]
    assert table.columns == names
    assert rows(table) == [row for _, row in kept]
    assert lines(table) == [line for line, _ in kept]
    last = kept[-1][0]
    blank = [line for line, row in zip(starts, body) if not any(v.strip() for v in row) and header < line < last]
    assert list(table.blank_rows) == blank


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=_tables(ANY_TEXT),
    delimiter=st.sampled_from(list(",;\t|")),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le-declared", "utf-16-be-declared"]),
    lineterminator=st.sampled_from(["\r\n", "\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_csv_round_trip_unicode(table, delimiter, encoding, lineterminator, quoting):
    names, body = table
    if lineterminator == "\n" and quoting == csv.QUOTE_MINIMAL:
        # Python 3.11's csv writer then leaves a value holding \r unquoted: the file has a real line break there
        assume(not any("\r" in value for row in body for value in row))
    text, starts = write_csv(names, body, delimiter, lineterminator, quoting)
    declared = encoding.endswith("-declared")
    codec = encoding.removesuffix("-declared")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "raw.csv"
        path.write_bytes(text.encode(codec))
        result = read_raw(path, encoding=codec if declared else "auto")
    check_round_trip(result, names, body, starts)
    assert result.delimiter == delimiter
    assert result.encoding == codec


CP1252_SPECIALS = [s for s in SPECIALS if s != "日本"]
CP1252_NAMES = st.characters(
    codec="cp1252", categories=("L", "N"), include_characters="_ -.?()", exclude_characters=',;\t|"\r\n'
)


@settings(max_examples=100, deadline=None)
@given(
    table=_tables(st.characters(codec="cp1252", exclude_characters="\x00"), CP1252_NAMES, CP1252_SPECIALS),
    delimiter=st.sampled_from(list(",;\t|")),
)
def test_csv_round_trip_declared_cp1252(table, delimiter):
    names, body = table
    text, starts = write_csv(names, body, delimiter, "\r\n", csv.QUOTE_MINIMAL)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "raw.csv"
        path.write_bytes(text.encode("cp1252"))
        result = read_raw(path, encoding="cp1252")
    check_round_trip(result, names, body, starts)
    assert result.encoding == "cp1252"


# ASCII and the accented letters of cp1252 (0xC0-0xFF): bytes that never form a UTF-8 sequence, so a file with
# any of them is unambiguously not UTF-8.
LATIN = [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xC0, 0x100)]
LATIN_NAMES = st.sampled_from([c for c in LATIN if c.isalnum() or c in "_ -.?()"])
LATIN_SPECIALS = [",", ";", "\t", "|", '"', "\n", "\r\n", "  padded  ", "é", "ÿ", "Ñ"]


@settings(max_examples=100, deadline=None)
@given(
    table=_tables(st.sampled_from([*LATIN, "\n"]), LATIN_NAMES, LATIN_SPECIALS),
    delimiter=st.sampled_from(list(",;\t|")),
)
def test_csv_round_trip_detected_cp1252(table, delimiter):
    names, body = table
    text, starts = write_csv(names, body, delimiter, "\r\n", csv.QUOTE_MINIMAL)
    assume(any(ord(c) >= 0x80 for c in text))
    # "þÿ" and "ÿþ" are the bytes of a UTF-16 byte-order mark, which says UTF-16 before any detection.
    assume(not text.startswith(("þÿ", "ÿþ")))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "raw.csv"
        path.write_bytes(text.encode("cp1252"))
        result = read_raw(path)
    check_round_trip(result, names, body, starts)
    assert result.encoding == "cp1252"


# openpyxl refuses control characters, and XML turns \r into \n; a leading "=" would be written as a formula.
XLSX_TEXT = st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t")


@st.composite
def xlsx_cells(draw):
    kind = draw(st.sampled_from(["text", "int", "decimal", "blank"]))
    if kind == "text":
        value = draw(st.text(XLSX_TEXT, min_size=1, max_size=10).filter(lambda s: not s.startswith("=")))
        return value, value
    if kind == "int":
        value = draw(st.integers(-(2**53), 2**53))
        return value, str(value)
    if kind == "decimal":
        value = float(draw(st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False)))
        return value, str(int(value)) if value.is_integer() else repr(value)
    return None, ""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 4),
    data=st.data(),
    first_row=st.integers(1, 3),
)
def test_xlsx_round_trip(width, data, first_row):
    names = data.draw(
        st.lists(
            st.text(NAME_CHARS, min_size=1, max_size=8).filter(lambda s: s.strip() and not s.startswith("{")),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    body = data.draw(st.lists(st.lists(xlsx_cells(), min_size=width, max_size=width), min_size=1, max_size=5))
    texts = [[shown for _, shown in row] for row in body]
    assume(any(any(v.strip() for v in row) for row in texts))
    assume(all(row != names for row in texts))
    cells = {(first_row, c): name for c, name in enumerate(names, start=1)}
    for r, row in enumerate(body, start=first_row + 1):
        cells.update({(r, c): value for c, (value, _) in enumerate(row, start=1) if value is not None})
    with tempfile.TemporaryDirectory() as scratch:
        table = read_raw(write_xlsx(Path(scratch) / "raw.xlsx", cells))
    starts = list(range(first_row, first_row + 1 + len(body)))
    check_round_trip(table, names, texts, starts)


DEFECTS = {
    "short": (["v"] * 4, "the row has 4 values but the header has 5 columns"),
    "long": (["v"] * 7, "the row has 7 values but the header has 5 columns"),
    "stray": (["v"] * 5 + ["x"], "the row has a value in column 6, beyond the last named column"),
}


@pytest.mark.parametrize("seed", range(6))
def test_widths_checked_at_once_name_the_first_bad_row_as_a_row_by_row_check(tmp_path, seed):
    """Thousands of records, blank lines and a trailing unnamed column between them, a few records of the wrong
    width: the error names the first (its line counted as the file was written), and a file without them reads
    to the rows written, blank lines listed as skipped."""
    rng = np.random.default_rng(seed)
    trailing = seed % 2 == 1  # a header with an unnamed sixth column, blank in every record
    lines, rows, blank, line = [",".join("abcde") + ("," if trailing else "")], [], [], 1
    for index in range(3000):
        if rng.random() < 0.01:
            lines.append(",,,,," if rng.random() < 0.5 else "")
            line += 1
            blank.append(line)
        row = [f"r{index}", *(str(v) for v in rng.integers(0, 9, 4))]
        rows.append((line + 1, row))
        lines.append(",".join(row + ([""] if trailing else [])))
        line += 1
    (tmp_path / "good.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_raw(tmp_path / "good.csv")
    assert result.frame.values.tolist() == [row for _, row in rows]
    assert result.source_rows.tolist() == [at for at, _ in rows]
    assert list(result.blank_rows) == blank
    kinds = ["short", "long"] + (["stray"] if trailing else [])
    bad = {int(i): kinds[rng.integers(len(kinds))] for i in rng.choice(len(rows), 3, replace=False)}
    for index, kind in bad.items():
        at = lines.index(",".join(rows[index][1] + ([""] if trailing else [])))
        lines[at] = ",".join(DEFECTS[kind][0])
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = min(bad)
    with pytest.raises(InputError) as info:
        read_raw(tmp_path / "bad.csv")
    assert (info.value.row, info.value.problem) == (rows[first][0], DEFECTS[bad[first]][1])


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(list('a ,"\r\n')), max_size=40))
def test_text_is_split_into_lines_as_python_splits_a_file(text):
    """The reader splits the text into lines with a pattern (a list of lines is lighter than a file object over
    the text); the oracle is io.StringIO(newline=""), the file object the csv module documents."""
    from survey_audit.intake.readers import _LINE

    assert _LINE.findall(text) == list(io.StringIO(text, newline=""))


# --------------------------------------------------------------------------------------------- fast and strict paths
# Text is read by Arrow's CSV reader when every record is one soundly quoted line of the header's width, and by the
# csv module otherwise (the strict path, which names every fault). The oracle here is the strict path: for every
# file both must give the same table, or the same error.


def attempt(path: Path, **options):
    try:
        return read_raw(path, **options)
    except SurveyAuditError as exc:
        return exc


def both_paths(path: Path, **options):
    """The file read as the reader chooses (and whether the fast path read it or named its fault), and by the strict
    path alone."""
    taken = []
    fast = readers._cells

    def spy(*args):
        try:
            cells = fast(*args)
        except SurveyAuditError:  # a fault named on the fast path
            taken.append(True)
            raise
        taken.append(cells is not None)
        return cells

    with mock.patch.object(readers, "_cells", spy):
        chosen = attempt(path, **options)
    with mock.patch.object(readers, "_cells", lambda *args: None):
        strict = attempt(path, **options)
    return chosen, strict, any(taken)


def assert_same(chosen, strict) -> None:
    if isinstance(strict, SurveyAuditError):
        assert isinstance(chosen, type(strict)), chosen
        assert chosen.message == strict.message
        return
    assert not isinstance(chosen, Exception), chosen.message
    pd.testing.assert_frame_equal(chosen.frame, strict.frame, check_exact=True)
    assert str(chosen.frame.dtypes.iloc[0]) == "str"
    assert chosen.source_rows.dtype == strict.source_rows.dtype == np.int64
    assert chosen.source_rows.tolist() == strict.source_rows.tolist()
    for name in (
        "path",
        "layout",
        "encoding",
        "delimiter",
        "question_text",
        "value_labels",
        "import_ids",
        "blank_rows",
    ):
        assert getattr(chosen, name) == getattr(strict, name), name


PATHS = {
    # name: (file, whether the fast path reads it or names its fault)
    "plain": ("id,q\n1,a\n2,b\n", True),
    "quoted values, doubled and literal quotes": ('id,q,r\n1,"a, b","say ""hi"""\n2,a"b,""\n3, "c" ,\n', True),
    "platform layout": (
        'id,q\nID,"Question, with a comma"\n{"ImportId":"QID1"},{"ImportId":"QID2"}\n1,a\n2,b\n',
        True,
    ),
    "blank rows and lines": ("\n,,\nid,q,r\n1,a,b\n\n,,\n  ,\t, \n2,c,d\n\n\n", True),
    "\\r\\n line breaks": ("id,q\r\n1,a\r\n\r\n2,b\r\n", True),
    "\\r line breaks": ("id,q\r1,a\r\r2,b", True),
    "no final line break": ("id,q\n1,a", True),
    "blank trailing unnamed columns": ("id,q,,\n1,a,,\n2,b, ,\n", True),
    "byte-order mark": ("\ufeffid,q\n1,a\n", True),
    "a quoted value over several lines": ('id,q\n1,"two\nlines"\n2,b\n', True),
    "a quoted line break at the end of a line": ('id,q\n1,"a\r"\n', True),
    "lines inside a quoted value that look like records": ('id,q\n1,"a\n2,b\n""c"",d"\n3,e\n\n4,"f\r\n"\n', True),
    "question text over several lines": (
        'id,q\nID,"Question\nover lines"\n{"ImportId":"QID1"},{"ImportId":"QID2"}\n1,"a\n\nb"\n',
        True,
    ),
    "a header over several lines": ('id,"q\nr"\n1,a\n', False),
    "a value over several lines in a record too short": ('id,q,r\n1,"a\nb"\n2,c,d\n', True),
    "a value over several lines in a record too long": ('id,q\n1,"a\nb",c\n', True),
    "a value over several lines, too long for the csv module": (
        'id,q\n1,"' + "x\n" * (csv.field_size_limit() // 2 + 1) + '"\n',
        True,
    ),
    "a line of spaces": ("id,q\n1,a\n   \n2,b\n", True),
    "records shorter than unnamed trailing columns": ("id,q,\n1,a\n2,b,\n", True),
    "a header wider than its records": ("id,q,,\n1,a\n2,b\n3,c\n", True),
    "records of three widths under unnamed trailing columns": ('id,q,,\n1,a\n2,"b\nc",\n3,c,,\n4,d\n', True),
    "a value under an unnamed column in a shorter record": ("id,q,,\n1,a\n2,b,x\n3,c\n", True),
    "lines of spaces and tabs between records": ("id,q\n \t \n1,a\n\t\n2,b\n  \n", True),
    "a line of spaces before the header": ("  \nid,q\n1,a\n", True),
    "a value longer than the csv module allows": ("id,q\n1," + "x" * (csv.field_size_limit() + 1) + "\n", False),
    "text after a closing quote": ('id,q\n1,"a"b\n', True),
    "a quote never closed": ('id,q\n1,a\n2,"b\n', True),
    "a quote never closed after a value too long for the csv module": (
        "id,q\n1," + "x" * (csv.field_size_limit() + 1) + '\n2,"b\n',
        False,
    ),
    "a quote never closed after a value over several lines": ('id,q\n1,"a\nb"\n2,"c\n3,d\n', True),
    "a short record": ("id,q,r\n1,a,b\n2,c\n", True),
    "a long record": ("id,q\n1,a\n2,b,c\n", True),
    "a short last record without a line break": ("id,q,r\n1,a,b\n2,c", True),
    "a short record after a long one": ("id,q\n1,a\n2,b,c\n3\n", True),
    "mostly short records": ("id,q,r\n1,a\n2,b\n3,c\n", True),
    "a value under an unnamed trailing column": ("id,q,\n1,a,\n2,b,x\n", True),
    "a repeated header": ("id,q\n1,a\nid,q\n", True),
    "a column name twice": ("id,id\n1,2\n", True),
    "a column without a name": ("id,,q\n1,2,3\n", True),
    "blank lines alone": ("\n\n,\n", False),
    "a header alone": ("id,q\n\n", True),
    "a platform layout without its import ids": ('id,q\nID,"Question"\n1,a\n', True),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_the_fast_path_reads_what_the_strict_path_reads(tmp_path, name):
    text, fast = PATHS[name]
    path = tmp_path / "raw.csv"
    path.write_text(text, encoding="utf-8", newline="")
    chosen, strict, taken = both_paths(path)
    assert taken == fast
    assert_same(chosen, strict)


@pytest.mark.parametrize(
    "data, options",
    [
        ("id;q\n1;a,b\n", {"delimiter": ";"}),
        ("id,q\n1,a\n", {"delimiter": ";"}),  # the declared delimiter does not split the header
        ("id,q\n1,a\n", {"layout": "platform"}),
        ("id,q\n1,a é\n".encode("cp1252"), {}),
        ("id,q\n1,a “é”\n".encode("utf-16"), {}),
        ("id,q\n1,a\n".encode("utf-16-le"), {"encoding": "utf-16-le"}),
        (codecs.BOM_UTF8 * 2 + b"id,q\n1,a\n", {"encoding": "utf-8"}),
        (codecs.BOM_UTF8 * 2 + b"id,q\n1,a\n", {}),
        (b"id,q\n1,\xff\n", {}),
        (b"id,q\n1,a\x00\n", {}),
        (b"id,q\n1,\xed\xa0\x80\n", {"encoding": "utf-8"}),  # a surrogate: not UTF-8 for Python
    ],
)
def test_encodings_delimiters_and_layouts_read_alike_on_both_paths(tmp_path, data, options):
    path = tmp_path / "raw.csv"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    chosen, strict, _ = both_paths(path, **options)
    assert_same(chosen, strict)


def test_large_file_takes_the_fast_path(tmp_path):
    n = 20_000
    text = "id,age,multi,note\r\n" + "".join(f'R{i},{i % 90},"a, ""b""",x{"é" * (i % 3)}\r\n' for i in range(n))
    path = tmp_path / "raw.csv"
    path.write_text(text, encoding="utf-8", newline="")
    chosen, strict, taken = both_paths(path)
    assert taken and len(chosen) == n
    assert_same(chosen, strict)


FAULTS = st.sampled_from(['"', ",", "\n", "\r", "\r\n", " ", "", '""', "x"])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=_tables(st.sampled_from(list('ab ,;"\r\n\té')), specials=[",", '"', "\n", "\r", " ", 'a"b', ""]),
    breaks=st.booleans(),
    trailing=st.booleans(),
    blank=st.lists(st.tuples(st.integers(0, 8), st.sampled_from(["", " ", ",,,,,,"])), max_size=2),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
    faults=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), FAULTS), max_size=2),
)
def test_either_path_gives_the_same_table_or_the_same_error(
    table, breaks, trailing, blank, quoting, lineterminator, faults
):
    """Files written by the csv module (values with or without line breaks, a blank unnamed last column or not,
    blank lines between records), some then broken by a stray quote, delimiter, line break or space: the
    reader's choice and the strict path agree on every one."""
    names, body = table
    if not breaks:
        body = [[value.replace("\r", "").replace("\n", "") for value in row] for row in body]
    if trailing:
        names, body = [*names, ""], [[*row, ""] for row in body]
    text, _ = write_csv(names, body, ",", lineterminator, quoting)
    records = text.split(lineterminator)
    for at, line in blank:
        records.insert(min(at, len(records) - 1), line[: len(names) - 1] if line.startswith(",") else line)
    text = lineterminator.join(records)
    for at, fault in faults:
        position = int(at * len(text))
        text = text[:position] + fault + text[position:]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "raw.csv"
        path.write_text(text, encoding="utf-8", newline="")
        chosen, strict, _ = both_paths(path)
    assert_same(chosen, strict)


RAGGED_VALUES = st.sampled_from(["", " ", "a", "b c", '"q"', "x\ny", "é"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    named=st.integers(2, 4),
    unnamed=st.integers(0, 2),
    records=st.lists(
        st.one_of(
            st.lists(RAGGED_VALUES, min_size=1, max_size=7),
            st.sampled_from(["", "   ", "\t", " , "]),  # an empty line, lines of white space
        ),
        min_size=1,
        max_size=12,
    ),
    lineterminator=st.sampled_from(["\n", "\r\n", "\r"]),
    final_break=st.booleans(),
    pieces=st.sampled_from([(1, 2), (4, 3), (readers.MAX_PIECES, readers.ROWS_AT_ONCE)]),
)
def test_records_of_several_widths_read_alike_on_both_paths(
    named, unnamed, records, lineterminator, final_break, pieces
):
    """Files whose records differ in width (a header with unnamed trailing columns, records shorter or longer
    than it, lines of white space, values over several lines): Arrow reads the records of the usual width and
    hands back the others, and the table or the error is the strict path's. Every such file takes the fast
    path, since its header is a sound line of two fields or more. ``pieces``: how many slices a column may be
    made of before it is copied whole, and the records copied at once, made small so that small files take
    both ways of putting the records handed back in their places."""
    header = [f"c{i}" for i in range(named)] + [""] * unnamed
    lines_ = [header, *records]
    text = ""
    for line in lines_:
        if isinstance(line, str):
            text += line + lineterminator
            continue
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator=lineterminator).writerow(line)
        text += buffer.getvalue()
    if not final_break:
        text = text[: -len(lineterminator)]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "raw.csv"
        path.write_text(text, encoding="utf-8", newline="")
        with mock.patch.multiple(readers, MAX_PIECES=pieces[0], ROWS_AT_ONCE=pieces[1]):
            chosen, strict, taken = both_paths(path)
    assert taken
    assert_same(chosen, strict)


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(list('a ,"\r\n')), max_size=40))
def test_lines_are_found_where_python_splits_a_file(text):
    """The fast path finds line breaks in the bytes; the oracle is io.StringIO(newline="")."""
    body = memoryview(text.encode("utf-8"))
    offsets = readers._line_offsets(body)
    found = [str(body[a:b], "utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    assert found == list(io.StringIO(text, newline=""))


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=12)
    | st.lists(
        st.sampled_from([b"\xed", b"\xa0", b"\x80", b"\xf4", b"\x90", b"\xc0", b"\xe0", b"\xf0", b"a", b"\xbf"]),
        max_size=6,
    ).map(b"".join)
)
def test_utf8_is_valid_where_python_decodes_it(data):
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert readers._valid_utf8(data, memoryview(data)) == valid


# --------------------------------------------------------------------------------------------- calamine and openpyxl
# A workbook is read by calamine into columns when that reading is provably openpyxl's, and by openpyxl row by row
# otherwise. The oracle is openpyxl's reading (the reader before calamine, kept as the other path): for every
# workbook both must give the same table, or the same error. Workbooks are written by openpyxl, with their text
# inline (as openpyxl writes it) or moved to a shared-strings part (as Excel and survey platforms write it), and
# formula cells given the cached values openpyxl does not write.

CONTENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def edit_workbook(path: Path, shared: bool = False, edit=None) -> Path:
    """Rewrite the workbook at ``path``: its sheets' XML through ``edit``, and (``shared``) its inline text into a
    shared-strings part."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    strings: list[bytes] = []

    def to_shared(match: re.Match) -> bytes:
        strings.append(match.group(3))
        return b"<c " + match.group(1) + b't="s"' + match.group(2) + b"><v>%d</v></c>" % (len(strings) - 1)

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        sheet = parts[name]
        if shared:
            sheet = re.sub(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', to_shared, sheet, flags=re.S)
        parts[name] = edit(sheet) if edit else sheet
    if strings:
        items = b"".join(b"<si>" + s + b"</si>" for s in strings)
        parts["xl/sharedStrings.xml"] = (
            (
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
                % (len(strings), len(strings))
            )
            + items
            + b"</sst>"
        )
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            f'<Relationship Id="rIdStrings" Type="{CONTENT}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>".encode(),
        )
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return path


def cached_formulas(sheet: bytes) -> bytes:
    """Formula cells written as =0+N get N as their cached value, as a spreadsheet saves it."""
    return re.sub(rb"<f>0\+(-?\d+)</f><v\s*/>", rb"<f>0+\1</f><v>\1</v>", sheet)


def both_xlsx_paths(path: Path, sliced: bool = False, **options):
    """The workbook read as the reader chooses (and whether calamine read it; ``sliced``: a row or two of the
    sheet's XML at a time), and by openpyxl alone."""
    taken = []
    columnar = readers._calamine_columns

    def spy(*args):
        found = columnar(*args)
        taken.append(found is not None)
        return found

    with mock.patch.object(readers, "_calamine_columns", spy), sliced_by(sliced):
        chosen = attempt(path, **options)
    with mock.patch.object(readers, "_calamine_columns", lambda *args: None):
        oracle = attempt(path, **options)
    return chosen, oracle, any(taken)


@contextlib.contextmanager
def sliced_by(sliced: bool):
    """With ``sliced``, the sheet's XML inflated 61 bytes at a time and cut after every row."""
    with contextlib.ExitStack() as stack:
        if sliced:
            stack.enter_context(mock.patch.object(readers, "SHEET_SLICE", 1))
            stack.enter_context(mock.patch.object(readers, "CHUNK", 61))
        yield


def assert_same_sheet(chosen, oracle) -> None:
    assert_same(chosen, oracle)
    if not isinstance(oracle, Exception):
        assert chosen.sheet == oracle.sheet


# Every kind of value a cell holds, as written by openpyxl (value, number format).
ORDINARY_CELLS = [
    ("text", None),
    ("1", None),  # a code stored as text
    (1, None),  # ... and as a number
    (1.0, None),
    (-3, None),
    (0.1 + 0.2, None),
    (1234567.125, None),
    (2_957_002, None),  # the largest whole number read alike in a workbook with date styles
    (1e-300, None),
    (0.25, "0%"),
    (5, "@"),
    (True, None),
    (False, None),
    (dt.date(2016, 5, 1), None),
    (dt.datetime(2016, 5, 1, 10, 30), None),
    (dt.datetime(2016, 5, 2), None),
    (dt.datetime(1900, 1, 5, 6), None),  # before the 1900 leap-year bug's 29 February
    (dt.timedelta(hours=26, minutes=3), None),
    (42000, "yyyy-mm-dd"),
    (42000.25, "d/m/yyyy h:mm"),
    (42000.5, "[$-409]mmmm d, yyyy;@"),
    (3.5, "[Red]0.00"),
    (1.5, "[h]:mm:ss"),
    ("  padded  ", None),
    ("two\nlines", None),
    ("tab\there", None),
    ("é€😀", None),
    ("", None),
    (None, None),
    ("=0+7", None),  # a formula, cached 7
    ("=1+1", None),  # a formula without a cached value
]


def write_cells(path: Path, rows_: list[list[tuple]], first_row: int = 1, first_column: int = 1, **kwargs) -> Path:
    book = openpyxl.Workbook()
    if kwargs.get("mac_dates"):  # the 1904 date system of old Mac workbooks
        book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = book.active
    ws.title = kwargs.get("sheet", "Sheet")
    for r, row in enumerate(rows_, start=first_row):
        for c, (value, number_format) in enumerate(row, start=first_column):
            cell = ws.cell(r, c, value)
            if number_format:
                cell.number_format = number_format
    for name in kwargs.get("more_sheets", ()):
        book.create_sheet(name).cell(1, 1, "other")
    book.save(path)
    return path


@pytest.mark.parametrize("sliced", [False, True])
@pytest.mark.parametrize("mac_dates", [False, True])
@pytest.mark.parametrize("shared", [False, True])
def test_calamine_reads_every_ordinary_cell_as_openpyxl_does(tmp_path, shared, mac_dates, sliced):
    cells = [(v, f) for v, f in ORDINARY_CELLS if not (mac_dates and isinstance(v, dt.date) and v.year < 1904)]
    header = [(f"c{i}", None) for i in range(len(cells))]
    path = write_cells(tmp_path / "raw.xlsx", [header, cells, [("x", None)] * len(cells)], mac_dates=mac_dates)
    edit_workbook(path, shared=shared, edit=cached_formulas)
    chosen, oracle, taken = both_xlsx_paths(path, sliced=sliced)
    assert taken
    assert_same_sheet(chosen, oracle)
    assert rows(chosen)[0][:8] == ["text", "1", "1", "1", "-3", "0.3", "1234567.125", "2957002"]
    assert rows(chosen)[0][-2:] == ["7", ""]
    assert rows(chosen)[0][13:15] == ["2016-05-01", "2016-05-01 10:30:00"]


def test_without_date_styles_whole_numbers_to_2_53_are_read_by_calamine(tmp_path):
    cells = [[("id", None), ("big", None)], [(1, None), (2**53 - 1, None)], [(2, None), (-(2**53) + 1, None)]]
    chosen, oracle, taken = both_xlsx_paths(write_cells(tmp_path / "raw.xlsx", cells))
    assert taken and rows(chosen) == [["1", str(2**53 - 1)], ["2", str(-(2**53) + 1)]]
    assert_same_sheet(chosen, oracle)


def test_a_sheet_is_handed_to_calamine_in_slices_of_whole_rows(tmp_path):
    path = write_cells(
        tmp_path / "raw.xlsx", [[("id", None), ("v", None)]] + [[(i, None), ("a", None)] for i in range(9)]
    )
    with zipfile.ZipFile(path) as archive, sliced_by(True):
        slices = list(readers._sheet_slices(archive, "xl/worksheets/sheet1.xml", readers.SHEET_SLICE))
    assert len(slices) == 10  # the header row and nine rows, one a slice
    for number, xml in enumerate(slices, start=1):
        root = ElementTree.fromstring(xml)
        assert [row.get("r") for row in root.iter(f"{{{MAIN}}}row")] == [str(number)]
        assert root.find(f"{{{MAIN}}}dimension") is None  # the stored dimensions are the whole sheet's
    chosen, oracle, taken = both_xlsx_paths(path, sliced=True)
    assert taken and lines(chosen) == list(range(2, 11))
    assert_same_sheet(chosen, oracle)


@pytest.mark.parametrize("wave", ["wave1", "wave2"])
def test_a_bundled_export_saved_as_a_workbook_reads_as_its_csv(tmp_path, wave):
    """The bundled export written as a platform writes a workbook (whole numbers and 15-digit decimals as numbers,
    date-times as dates, the rest as text) reads to the table its CSV gives, through calamine."""
    source = Path(__file__).resolve().parents[1] / "resources" / "synthetic" / f"{wave}.csv"
    expected = read_raw(source)
    records = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"), newline="")))

    def typed(text: str):
        if re.fullmatch(r"-?(?:0|[1-9]\d{0,14})", text):
            return int(text), None
        if re.fullmatch(r"-?\d+\.\d*[1-9]", text) and f"{float(text):.15g}" == text:
            return float(text), None
        if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text):
            return dt.datetime.fromisoformat(text), None
        return (text or None), None

    body = [[typed(v) for v in row] for row in records[3:]]
    path = write_cells(tmp_path / "raw.xlsx", [[(v, None) for v in row] for row in records[:3]] + body)
    assert sum(isinstance(v, int) for row in body for v, _ in row) > 1000  # numbers stored as numbers
    chosen, oracle, taken = both_xlsx_paths(path)
    assert taken
    assert_same_sheet(chosen, oracle)
    pd.testing.assert_frame_equal(chosen.frame, expected.frame, check_exact=True)
    assert (chosen.layout, chosen.question_text, chosen.import_ids) == (
        expected.layout,
        expected.question_text,
        expected.import_ids,
    )


# What calamine reads otherwise than openpyxl: the reader must notice each and let openpyxl read the workbook.
DIFFERING_CELLS = {
    "an error cell": ("#N/A", None),
    "an escaped character": ("a_x000D_b", None),
    "an escaped underscore": ("a_x005F_x000D_b", None),
    "white space alone": (" ", None),
    "an integer beyond 2**53": (2**53 + 2, None),
    "a date serial beyond 9999": (3_000_000, "yyyy-mm-dd"),
    "a number beyond a date's serial in a workbook with a date style": (2_958_466, None),
    "a negative date serial": (-1, "yyyy-mm-dd"),
    "a serial just under a whole day": (0.999999999, "yyyy-mm-dd"),
    "a time of day": (dt.time(10, 30), None),
    "a date-time with milliseconds": (dt.datetime(2016, 5, 1, 10, 30, 0, 123000), None),
    "a duration with milliseconds": (dt.timedelta(seconds=1.5), None),
    "a number too large for a float": (1e308, None),
}


@pytest.mark.parametrize("name", list(DIFFERING_CELLS))
@pytest.mark.parametrize("shared", [False, True])
def test_what_calamine_reads_otherwise_is_read_by_openpyxl(tmp_path, name, shared):
    value = DIFFERING_CELLS[name]
    cells = [[("id", None), ("v", None), ("d", None)], [(1, None), value, (dt.date(2016, 1, 1), None)]]
    path = edit_workbook(write_cells(tmp_path / "raw.xlsx", cells), shared=shared)
    chosen, oracle, taken = both_xlsx_paths(path)
    assert not taken or name == "a number too large for a float"  # read alike: calamine may read it
    assert_same_sheet(chosen, oracle)


def test_text_calamine_would_trim_is_read_by_openpyxl(tmp_path):
    # text with white space at an end and no xml:space="preserve" (openpyxl writes it for white space alone)
    path = write_cells(tmp_path / "raw.xlsx", [[("id", None), ("v", None)], [(1, None), ("a", None)]])
    edit_workbook(path, shared=True, edit=lambda sheet: sheet)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(b"<t>a</t>", b"<t>a </t>")
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    chosen, oracle, taken = both_xlsx_paths(path)
    assert not taken and rows(chosen) == [["1", "a "]]
    assert_same_sheet(chosen, oracle)


def test_a_string_formula_and_an_iso_date_cell(tmp_path):
    path = write_cells(tmp_path / "raw.xlsx", [[("id", None), ("v", None)], [(1, None), ("=0+1", None)]])

    def edit(sheet: bytes) -> bytes:
        cell = rb'<c r="B2"[^>]*><f>0\+1</f><v\s*/></c>'
        return re.sub(cell, b'<c r="B2" t="str"><f>"x"</f><v>x</v></c>', sheet)

    chosen, oracle, taken = both_xlsx_paths(edit_workbook(path, edit=edit))
    assert taken and rows(chosen) == [["1", "x"]]
    assert_same_sheet(chosen, oracle)
    iso = edit_workbook(
        path, edit=lambda sheet: sheet.replace(b't="str"><f>"x"</f><v>x</v>', b't="d"><v>2016-05-01</v>')
    )
    chosen, oracle, taken = both_xlsx_paths(iso)
    assert not taken and rows(chosen) == [["1", "2016-05-01"]]
    assert_same_sheet(chosen, oracle)
    padded = b't="str"><f>"x"</f><v> x</v>'  # a formula's text that calamine would trim
    padded = edit_workbook(path, edit=lambda sheet: sheet.replace(b't="d"><v>2016-05-01</v>', padded))
    chosen, oracle, taken = both_xlsx_paths(padded)
    assert not taken and rows(chosen) == [["1", " x"]]
    assert_same_sheet(chosen, oracle)


DAMAGES = {
    "not a number": lambda sheet: sheet.replace(b"<v>1</v>", b"<v> 1 x</v>"),
    "cut short after its rows": lambda sheet: sheet[: sheet.index(b"</sheetData>") + 20],
    "cut short in its rows": lambda sheet: sheet[: sheet.index(b"</sheetData>") - 10],
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_sheet_is_named_by_openpyxl(tmp_path, damage):
    path = write_cells(tmp_path / "raw.xlsx", [[("id", None)], [(1, None)]])
    edit_workbook(path, edit=DAMAGES[damage])
    chosen, oracle, taken = both_xlsx_paths(path)
    assert not taken and isinstance(chosen, InputError)
    assert chosen.problem.startswith("the spreadsheet cannot be read")
    assert_same_sheet(chosen, oracle)


XLSX_VALUES = st.one_of(
    st.tuples(st.text(XLSX_TEXT, max_size=8).filter(lambda s: not s.startswith("=")), st.none()),
    st.tuples(st.sampled_from([" ", "a ", " a", "_x000D_", "x005F_", "#DIV/0!", "01", "TRUE", "{}"]), st.none()),
    st.tuples(st.integers(-(2**60), 2**60), st.none()),
    st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.none()),
    st.tuples(st.booleans(), st.none()),
    st.tuples(st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)), st.none()),
    st.tuples(
        st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)).map(
            lambda d: d.replace(microsecond=0) if d.microsecond % 7 else d
        ),
        st.none(),
    ),
    st.tuples(st.times(), st.none()),
    st.tuples(st.timedeltas(dt.timedelta(0), dt.timedelta(days=1000)), st.none()),
    st.tuples(st.integers(-(10**6), 10**6).map(lambda n: f"=0+{n}"), st.none()),
    st.tuples(
        st.one_of(st.integers(-(10**7), 10**7), st.floats(-1e7, 1e7)),
        st.sampled_from(["0.00", "0%", "yyyy-mm-dd", "d/m/yyyy h:mm", "h:mm", "[h]:mm:ss", "@", '0 "days"']),
    ),
    st.just((None, None)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 4),
    data=st.data(),
    first_row=st.integers(1, 3),
    first_column=st.integers(1, 2),
    shared=st.booleans(),
    sheet=st.sampled_from([None, 0, 1, "Responses", "Other"]),
    mac_dates=st.booleans(),
    sliced=st.booleans(),
)
def test_calamine_reads_any_workbook_as_openpyxl_does(
    width, data, first_row, first_column, shared, sheet, mac_dates, sliced
):
    names = data.draw(
        st.lists(
            st.text(NAME_CHARS, min_size=1, max_size=8).filter(lambda s: s.strip() and not s.startswith("{")),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    body = data.draw(st.lists(st.lists(XLSX_VALUES, min_size=width, max_size=width), min_size=0, max_size=5))
    rows_ = [[(name, None) for name in names], *body]
    if data.draw(st.booleans()):
        rows_.append([(None, None)] * width + [(None, "0.00")])  # a styled empty cell beyond the data
    with tempfile.TemporaryDirectory() as scratch:
        path = write_cells(
            Path(scratch) / "raw.xlsx",
            rows_,
            first_row,
            first_column,
            sheet="Responses",
            more_sheets=["Other"] if data.draw(st.booleans()) else [],
            mac_dates=mac_dates,
        )
        edit_workbook(path, shared=shared, edit=cached_formulas)
        chosen, oracle, _ = both_xlsx_paths(path, sliced=sliced, sheet=sheet)
    assert_same_sheet(chosen, oracle)


# --------------------------------------------------------------------------------------------- statistical files


STAT_NUMBERS = st.one_of(
    st.integers(-(2**53), 2**53).map(float),
    st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False).map(float),
    st.floats(1e16, 1e300),
    st.just(float("nan")),
)


def shown_number(value: float) -> str:
    """A number as a CSV export of the file would show it: blank when missing, whole numbers without a point,
    others to 15 significant digits."""
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else f"{value:.15g}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    numbers=st.lists(st.tuples(STAT_NUMBERS, STAT_NUMBERS), min_size=1, max_size=8),
    texts=st.lists(st.text("abcé -", max_size=6).map(str.strip), min_size=8, max_size=8),
    kind=st.sampled_from(["sav", "dta"]),
)
def test_statistical_files_read_column_by_column_as_each_value_shows(numbers, texts, kind):
    frame = pd.DataFrame(
        {
            "id": [f"P{i}" for i in range(len(numbers))],
            "x": [a for a, _ in numbers],
            "y": [b for _, b in numbers],
            "t": texts[: len(numbers)],
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"raw.{kind}"
        (pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta)(frame, str(path))
        table = read_raw(path)
    expected = [[f"P{i}", shown_number(a), shown_number(b), t] for i, ((a, b), t) in enumerate(zip(numbers, texts))]
    assert rows(table) == expected
    assert str(table.frame.dtypes.iloc[0]) == "str"
