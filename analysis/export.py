"""Tables as files: CSV and XLSX with the same cells as the rendered table, safe to open.

- **Text is never a formula.** A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is prefixed with a single quote (the OWASP CSV-injection rule), in the CSV
  and the XLSX alike; every XLSX text cell is written with the string data type, so even an
  unprefixed ``=`` could not be a formula. Numbers are not text: ``-2.5`` stays a number.
- **Numbers are numbers.** A column is numeric when every cell that is not empty (``""``,
  ``–``) is a number: a numeric dtype, or a string that is a plain decimal (``58``, ``0.770``,
  ``−3.1`` with the typographic minus). In the XLSX such cells are stored as numbers with the
  decimals they are shown with (``0.770`` as 0.77 formatted ``0.000``), so the sheet shows what
  the report shows; the CSV keeps the table's text. Mixed columns (``37/50 (74%)``) stay text.
- **A sheet a reader can use.** One header row (bold, frozen), column widths from the content,
  and an optional note row under the table (e.g. that the data are synthetic).
- **Same inputs, same bytes.** Fixed document dates and zip entry times
  (``$SOURCE_DATE_EPOCH``, default :data:`DEFAULT_EPOCH`).

The zip rewrite is hand-written because openpyxl stamps the current time on each entry and
offers no option to fix it.
"""

from __future__ import annotations

import io
import math
import os
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

DEFAULT_EPOCH = 1704067200  # 2024-01-01T00:00:00Z when SOURCE_DATE_EPOCH is not set
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MISSING = ("", "–")
SYNTHETIC_NOTE = "Synthetic data: these numbers describe no real patient."
_DECIMAL = re.compile(r"^[-\u2212]?(0|[1-9]\d*)(\.(\d+))?$")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def source_date_epoch() -> int:
    """``$SOURCE_DATE_EPOCH`` (seconds; clamped to 1980, the zip format's first year)."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return max(int(raw) if raw.isdigit() else DEFAULT_EPOCH, 315532800)


def parse_number(value) -> tuple[float | int, str] | None:
    """``(number, Excel number format)`` when ``value`` is a number, else None.

    >>> parse_number("−3.10"), parse_number("58"), parse_number(2.5)
    ((-3.1, '0.00'), (58, '0'), (2.5, 'General'))
    >>> parse_number("-2+3"), parse_number("007"), parse_number("<0.001"), parse_number(True)
    (None, None, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value, "0"
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else (value, "General")
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return parse_number(value.item())
    if not isinstance(value, str):
        return None
    m = _DECIMAL.match(value)
    if not m:
        return None
    text = value.replace("\u2212", "-")
    if m.group(3) is None:
        return int(text), "0"
    return float(text), "0." + "0" * len(m.group(3))


def _missing(value) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and value in MISSING


def numeric_columns(df: pd.DataFrame) -> list[bool]:
    """Per column: every non-empty cell is a number (and at least one is)."""
    out = []
    for i in range(df.shape[1]):
        cells = [v for v in df.iloc[:, i] if not _missing(v)]
        out.append(bool(cells) and all(parse_number(v) is not None for v in cells))
    return out


def neutralise(value):
    """A text cell safe from formula interpretation (OWASP): ``'`` before a formula start.

    >>> neutralise('=HYPERLINK("x")'), neutralise("-2+3"), neutralise("-2.5"), neutralise(-2)
    ('\\'=HYPERLINK("x")', "'-2+3", '-2.5', -2)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and parse_number(value) is None:
        return "'" + value
    return value


def _csv_cell(value):
    """Neutralised, with line ends inside text as ``\n`` (a bare ``\r`` would not be quoted
    by the CSV writer when the line terminator is ``\n``, and would split the row)."""
    value = neutralise(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell and header neutralised (numbers untouched)."""
    out = df.copy()
    out.columns = [_csv_cell(str(c)) for c in df.columns]
    for i in range(out.shape[1]):
        out.iloc[:, i] = [_csv_cell(v) for v in df.iloc[:, i]]
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """The table as UTF-8 CSV, ``\\n`` line ends, neutralised text."""
    csv_frame(df).to_csv(path, index=False, lineterminator="\n")
    return Path(path)


def _text(value) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = "" if _missing(value) and not isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(text))


def _set_text(cell, value) -> None:
    cell.value = _text(value)
    cell.data_type = "s"  # never a formula, whatever the first character


def sheet_title(name: str) -> str:
    """An Excel sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    return (_SHEET_BAD.sub("_", str(name)) or "Sheet")[:31]


def column_width(texts) -> float:
    """Excel width of a column: its longest text (headers by their longest word) + 2, 8-60."""
    return float(min(max([6] + [len(t) for t in texts]) + 2, 60))


def write_xlsx(df: pd.DataFrame, path: str | Path, *, sheet: str | None = None,
               note: str | None = None, epoch: int | None = None) -> Path:
    """The table as one XLSX sheet (see the module docstring); deterministic bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    epoch = source_date_epoch() if epoch is None else epoch
    fixed = datetime.fromtimestamp(epoch, tz=UTC).replace(tzinfo=None)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(sheet or path.stem)
    numeric = numeric_columns(df)
    for j, name in enumerate(df.columns, start=1):
        cell = ws.cell(row=1, column=j)
        _set_text(cell, str(name))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom",
                                   horizontal="right" if numeric[j - 1] else "left")
    for i, row in enumerate(df.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j)
            parsed = parse_number(value) if numeric[j - 1] else None
            if parsed is not None:
                cell.value, cell.number_format = parsed
            elif not (_missing(value) and not isinstance(value, str)):
                _set_text(cell, value)
    if note:
        cell = ws.cell(row=len(df) + 2, column=1)
        _set_text(cell, note)
        cell.font = Font(italic=True)
    for j, name in enumerate(df.columns, start=1):
        texts = str(name).split() + [_text(v) for v in df.iloc[:, j - 1]]
        ws.column_dimensions[get_column_letter(j)].width = column_width(texts)
    ws.freeze_panes = "A2"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "analysis.export"
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(fixed_zip(buf.getvalue(), epoch))
    return path


def fixed_zip(data: bytes, epoch: int) -> bytes:
    """An OOXML zip rewritten with fixed entry times and ``docProps/core.xml`` dates."""
    stamp = datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    when = time.gmtime(epoch)[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<3>", body)
            entry = zipfile.ZipInfo(info.filename, when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o100644 << 16
            entry.create_system = 3
            dst.writestr(entry, body, compresslevel=9)
    return out.getvalue()


def write_table(df: pd.DataFrame, stem: str | Path, *, note: str | None = None,
                epoch: int | None = None) -> list[Path]:
    """``stem.csv`` and ``stem.xlsx`` of a table; returns both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = write_csv(df, stem.parent / f"{stem.name}.csv")
    xlsx = write_xlsx(df, stem.parent / f"{stem.name}.xlsx", sheet=stem.name, note=note,
                      epoch=epoch)
    return [csv, xlsx]
