"""Deterministic OOXML files (DOCX, XLSX): the same document gives the same bytes.

Writers stamp a zip-based office file with the clock (zip entry times, ``docProps/core.xml``
created/modified) and pandoc also copies its metadata into ``docProps/custom.xml``, including
the absolute paths of the bibliography and CSL of the (randomly named) staging folder.
:func:`normalise` rewrites such a file with ``[Content_Types].xml`` first and the other entries
sorted, every entry dated ``$SOURCE_DATE_EPOCH`` (default :data:`DEFAULT_EPOCH`), fixed
permissions and compression, the core dates set to that epoch, and custom properties that are
file paths removed. Hand-written because no maintained package normalises OOXML containers
(``strip-nondeterminism`` is a Perl tool outside the venv); the zip work is :mod:`zipfile`.
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_EPOCH = 1704067200  # 2024-01-01T00:00:00Z, when SOURCE_DATE_EPOCH is not set
ZIP_EPOCH_MIN = 315532800  # 1980-01-01, the zip format's first date

#: custom properties that name files of the render (pandoc's ``--bibliography``, ``--csl``)
PATH_PROPERTIES = {"bibliography", "csl", "reference-doc"}

_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_PROPERTY = re.compile(rb"<property\b[^>]*>.*?</property>", re.DOTALL)
_NAME = re.compile(rb'\bname="([^"]*)"')
_VALUE = re.compile(rb">([^<>]*)</vt:[A-Za-z0-9]+>")
_PID = re.compile(rb'\bpid="\d+"')
_ABSOLUTE = re.compile(rb"^(/|[A-Za-z]:[\\/]|\\\\)")


def source_date_epoch(env=None) -> int:
    """``$SOURCE_DATE_EPOCH`` as an int (default :data:`DEFAULT_EPOCH`; at least 1980)."""
    env = os.environ if env is None else env
    raw = str(env.get("SOURCE_DATE_EPOCH", "")).strip()
    epoch = int(raw) if raw.isdigit() else DEFAULT_EPOCH
    return max(epoch, ZIP_EPOCH_MIN)


def _is_path_property(prop: bytes) -> bool:
    name = _NAME.search(prop)
    if name and name.group(1).decode("utf-8", "replace") in PATH_PROPERTIES:
        return True
    value = _VALUE.search(prop)
    return bool(value and _ABSOLUTE.match(value.group(1).strip()))


def custom_properties(xml: bytes) -> bytes:
    """``docProps/custom.xml`` without the properties that hold file paths; pids renumbered."""
    found = list(_PROPERTY.finditer(xml))
    if not found:
        return xml
    kept = [m.group(0) for m in found if not _is_path_property(m.group(0))]
    kept = [_PID.sub(b'pid="%d"' % (i + 2), p, count=1) for i, p in enumerate(kept)]
    return xml[:found[0].start()] + b"".join(kept) + xml[found[-1].end():]


def core_properties(xml: bytes, epoch: int) -> bytes:
    """``docProps/core.xml`` with created/modified set to ``epoch`` (UTC)."""
    stamp = datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<3>", xml)


def _order(name: str) -> tuple[int, str]:
    return (0 if name == "[Content_Types].xml" else 1, name)


def normalise(path: Path | str, epoch: int | None = None) -> Path:
    """Rewrite the DOCX/XLSX at ``path`` deterministically (see the module docstring)."""
    path = Path(path)
    epoch = source_date_epoch() if epoch is None else max(int(epoch), ZIP_EPOCH_MIN)
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i.filename) for i in zf.infolist() if not i.is_dir()}
    date_time = time.gmtime(epoch)[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries, key=_order):
            data = entries[name]
            if name == "docProps/core.xml":
                data = core_properties(data, epoch)
            elif name == "docProps/custom.xml":
                data = custom_properties(data)
            info = zipfile.ZipInfo(name, date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=9)
    tmp = path.with_name(f".{path.name}.normalising")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path
