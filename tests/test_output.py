"""The output folder (publishing.output) and the OOXML normaliser (publishing.officezip).

Unit tests on small folders: the symlink layout, the migration of a plain folder, recovery of
what killed runs left, one-line errors for a full disk and a read-only folder, the lock, the
sweep of dead staging folders, and deterministic DOCX/XLSX containers.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from folders import snapshot as _snapshot
from folders import write_folder as _folder

from publishing import officezip, output


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


def _versions(out: Path) -> list[str]:
    return sorted(p.name for p in (out.parent / f".{out.name}.versions").iterdir())


REPORT = {"report.html": "old report", "tables/t.csv": "a\n1\n"}
NEW = {"report.html": "new report", "tables/t.csv": "a\n2\n", "figures/f.svg": "<svg/>"}


@pytest.fixture
def published(tmp_path):
    """``tmp_path/p/out``: a symlink to one version holding :data:`REPORT`."""
    out = tmp_path / "p" / "out"
    output.publish(_folder(tmp_path / "s0", REPORT), out)
    return out


# ------------------------------------------------------------------ layout and switch


def test_first_publish_makes_a_relative_symlink_to_a_version(tmp_path):
    out = tmp_path / "p" / "out"
    version = output.publish(_folder(tmp_path / "s", NEW), out)
    assert out.is_symlink() and not os.path.isabs(os.readlink(out))
    assert out.resolve() == version.resolve() and version.parent.name == ".out.versions"
    assert _snapshot(out) == {k: v.encode() for k, v in sorted(NEW.items())}
    assert _siblings(out) == [".out.versions", "out"]  # no lock, link or partial left
    assert not (tmp_path / "s").exists()  # the staged folder was moved, not copied


def test_second_publish_switches_and_keeps_only_the_current_version(published, tmp_path):
    before = published.resolve()
    output.publish(_folder(tmp_path / "s1", NEW), published)
    assert published.resolve() != before and not before.exists()
    assert _versions(published) == [published.resolve().name]
    assert (published / "report.html").read_text() == "new report"
    assert _siblings(published) == [".out.versions", "out"]


def test_plain_folder_is_migrated_by_one_exchange(tmp_path):
    out = _folder(tmp_path / "p" / "out", REPORT)  # the layout before versions
    output.publish(_folder(tmp_path / "s", NEW), out)
    assert out.is_symlink() and (out / "report.html").read_text() == "new report"
    assert _siblings(out) == [".out.versions", "out"]


def test_plain_folder_is_migrated_without_rename_exchange(tmp_path, monkeypatch):
    def no_exchange(a, b):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(output, "exchange", no_exchange)
    out = _folder(tmp_path / "p" / "out", REPORT)
    output.publish(_folder(tmp_path / "s", NEW), out)
    assert out.is_symlink() and (out / "report.html").read_text() == "new report"
    assert _siblings(out) == [".out.versions", "out"]


def test_exchange_swaps_a_folder_and_a_symlink(tmp_path):
    _folder(tmp_path / "d", {"f": "x"})
    (tmp_path / "l").symlink_to("elsewhere")
    output.exchange(tmp_path / "l", tmp_path / "d")
    assert (tmp_path / "d").is_symlink() and os.readlink(tmp_path / "d") == "elsewhere"
    assert (tmp_path / "l" / "f").read_text() == "x"


def test_killed_migration_is_undone_before_anything_is_removed(tmp_path):
    # killed between "final -> .final.previous" and the symlink rename: final is missing
    out = tmp_path / "p" / "out"
    _folder(tmp_path / "p" / ".out.previous", REPORT)
    (tmp_path / "p" / ".out.versions" / "x.partial").mkdir(parents=True)
    output.recover(output.layout(out))
    assert out.is_dir() and _snapshot(out) == {k: v.encode() for k, v in REPORT.items()}
    assert _versions(out) == []  # the partial version of the killed run is gone


def test_old_style_leftovers_keep_the_previous_report(tmp_path, monkeypatch):
    # the old publish() killed between its two renames: no out, only .out.new and .out.old
    out = tmp_path / "p" / "out"
    _folder(tmp_path / "p" / ".out.old", REPORT)
    _folder(tmp_path / "p" / ".out.new", NEW)

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(output, "_move_tree", full)
    with pytest.raises(output.OutputError, match="previous report in .*out/ is unchanged"):
        output.publish(_folder(tmp_path / "s", NEW), out)
    assert _snapshot(out) == {k: v.encode() for k, v in sorted(REPORT.items())}
    monkeypatch.undo()
    output.publish(_folder(tmp_path / "s", NEW), out)
    assert (out / "report.html").read_text() == "new report"
    assert _siblings(out) == [".out.versions", "out"]


# ------------------------------------------------------------------ write failures


def _fail_on_second_copy(monkeypatch, err_no: int):
    """Force the copy path (as across filesystems) and fail the second file written."""
    real_rename, real_copy = os.rename, output.shutil.copy2
    calls = []

    def rename(src, dst):
        if str(dst).endswith(".partial"):
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))
        return real_rename(src, dst)

    def copy2(src, dst, **kw):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(err_no, os.strerror(err_no), str(dst))
        return real_copy(src, dst, **kw)

    monkeypatch.setattr(output.os, "rename", rename)
    monkeypatch.setattr(output.shutil, "copy2", copy2)
    return calls


def test_full_disk_is_one_line_and_leaves_no_partial_copy(published, tmp_path, monkeypatch):
    before = _snapshot(published)
    calls = _fail_on_second_copy(monkeypatch, errno.ENOSPC)
    with pytest.raises(output.OutputError) as info:
        output.publish(_folder(tmp_path / "s1", NEW), published)
    msg = str(info.value)
    assert msg == (f"cannot write {calls[1]}: disk full; the previous report in "
                   f"{output.shown(published)}/ is unchanged")
    assert "\n" not in msg and "Errno" not in msg
    assert _snapshot(published) == before
    assert _siblings(published) == [".out.versions", "out"]
    assert _versions(published) == [published.resolve().name]  # the partial copy is gone


def test_full_disk_on_the_first_publish_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "p" / "out"
    _fail_on_second_copy(monkeypatch, errno.ENOSPC)
    with pytest.raises(output.OutputError, match=r"disk full; nothing was published to .*out/$"):
        output.publish(_folder(tmp_path / "s", NEW), out)
    assert _siblings(out) == []


def test_read_only_folder_is_one_line_before_any_work(published, tmp_path, monkeypatch):
    before = _snapshot(published)
    real_open = os.open

    def read_only(path, *a, **k):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(output.os, "open", read_only)
    with pytest.raises(output.OutputError) as info:
        output.publish(_folder(tmp_path / "s1", NEW), published)
    lock = published.parent / ".out.lock"
    assert str(info.value) == (f"cannot write {lock}: read-only file system; the previous "
                               f"report in {output.shown(published)}/ is unchanged")
    assert _snapshot(published) == before


def test_permission_denied_mid_copy(published, tmp_path, monkeypatch):
    _fail_on_second_copy(monkeypatch, errno.EACCES)
    with pytest.raises(output.OutputError, match=r": permission denied; the previous report"):
        output.publish(_folder(tmp_path / "s1", NEW), published)
    assert _versions(published) == [published.resolve().name]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores write permissions")
def test_write_protected_project_folder(tmp_path):
    out = tmp_path / "p" / "out"
    output.publish(_folder(tmp_path / "s0", REPORT), out)
    before = _snapshot(out)
    (tmp_path / "p").chmod(0o555)
    try:
        with pytest.raises(output.OutputError, match="permission denied; the previous report"):
            output.publish(_folder(tmp_path / "s1", NEW), out)
        assert _snapshot(out) == before
    finally:
        (tmp_path / "p").chmod(0o755)


def test_write_protected_old_version_is_still_superseded(published, tmp_path):
    # `chmod -R a-w _output`: the new report is published beside it, the old one removed
    for p in [published.resolve(), *published.resolve().rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    output.publish(_folder(tmp_path / "s1", NEW), published)
    assert (published / "report.html").read_text() == "new report"
    assert _versions(published) == [published.resolve().name]


def test_copy_tree_raises_the_first_error_not_a_list(tmp_path, monkeypatch):
    src = _folder(tmp_path / "src", {"a": "1", "b/c": "2", "b/d": "3"})
    (src / "link").symlink_to("a")
    got = output.copy_tree(src, tmp_path / "dst")
    assert _snapshot(got) == _snapshot(src) and os.readlink(got / "link") == "a"

    def full(s, d, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(d))

    monkeypatch.setattr(output.shutil, "copy2", full)
    with pytest.raises(OSError) as info:
        output.copy_tree(src, tmp_path / "dst2")
    assert info.value.errno == errno.ENOSPC


# ------------------------------------------------------------------ lock

HOLDER = """
import sys, time
from publishing import output
with output.lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_writer_is_refused_with_the_holders_pid(published, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(published)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = _snapshot(published)
        with pytest.raises(output.OutputBusy) as info:
            output.publish(_folder(tmp_path / "s1", NEW), published)
        assert str(info.value) == (f"another render of {output.shown(published)} is running "
                                   f"(pid {holder.pid})")
        assert _snapshot(published) == before
    finally:
        holder.communicate("\n", timeout=30)
    assert not (published.parent / ".out.lock").exists()  # removed on release
    output.publish(_folder(tmp_path / "s1", NEW), published)
    assert (published / "report.html").read_text() == "new report"


def test_lock_is_reentrant_within_a_process(tmp_path):
    out = tmp_path / "out"
    with output.lock(out):
        with output.lock(out):
            pass
        assert (tmp_path / ".out.lock").read_text().strip() == str(os.getpid())
    assert not (tmp_path / ".out.lock").exists()


# ------------------------------------------------------------------ staging folders


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_marked_folders_of_dead_processes(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f"publishing-{dead}-abc"
    live = tmp_path / f"publishing-{os.getpid()}-def"
    unmarked = tmp_path / f"publishing-{dead}-ghi"
    wrong = tmp_path / f"publishing-{dead}-jkl"
    for p in (stale, live, unmarked, wrong):
        p.mkdir()
        (p / "big.bin").write_bytes(b"x" * 10)
    (stale / output.STAGING_MARK).write_text(f"{dead} 123\n")
    (live / output.STAGING_MARK).write_text(f"{os.getpid()} {output._start_time(os.getpid())}\n")
    (wrong / output.STAGING_MARK).write_text("1 1\n")  # names another pid than its folder
    assert output.sweep("publishing-", tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, unmarked, wrong))


def test_sweep_treats_a_reused_pid_as_dead(tmp_path):
    mine = tmp_path / f"publishing-{os.getpid()}-x"
    mine.mkdir()
    (mine / output.STAGING_MARK).write_text(f"{os.getpid()} not-my-start-time\n")
    assert output.sweep("publishing-", tmp_path) == [mine]


def test_staging_folder_is_marked_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(output.tempfile, "tempdir", str(tmp_path))
    with output.staging("publishing-") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f"publishing-{os.getpid()}-")
        assert (tmp / output.STAGING_MARK).read_text().split()[0] == str(os.getpid())
    assert not tmp.exists()


# ------------------------------------------------------------------ officezip

CORE = (b'<?xml version="1.0"?><cp:coreProperties xmlns:cp="c" xmlns:dcterms="d" '
        b'xmlns:xsi="x"><dc:title>T</dc:title><dcterms:created xsi:type="dcterms:W3CDTF">'
        b'2026-12-02T06:04:06Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">'
        b'2026-12-02T06:04:07Z</dcterms:modified></cp:coreProperties>')


def _custom(path: str) -> bytes:
    prop = '<property fmtid="{F}" pid="%d" name="%s"><vt:lpwstr>%s</vt:lpwstr></property>'
    return ('<?xml version="1.0"?><Properties xmlns="p" xmlns:vt="v">'
            + prop % (2, "bibliography", f"{path}/references.bib")
            + prop % (3, "csl", f"{path}/vancouver.csl")
            + prop % (4, "subtitle", "For the tests")
            + prop % (5, "note", f"{path}/x")
            + "</Properties>").encode()


def _office(path: Path, when: tuple, staging: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in (("word/document.xml", b"<w:document/>"),
                           ("docProps/custom.xml", _custom(staging)),
                           ("[Content_Types].xml", b"<Types/>"), ("docProps/core.xml", CORE)):
            zf.writestr(zipfile.ZipInfo(name, when), data)
    return path


def test_officezip_gives_the_same_bytes_for_the_same_document(tmp_path):
    a = _office(tmp_path / "a.docx", (2026, 12, 2, 6, 4, 6), "/tmp/publishing-1-abc/project")
    b = _office(tmp_path / "b.docx", (2025, 1, 1, 0, 0, 0), "/tmp/publishing-2-xyz/project")
    assert a.read_bytes() != b.read_bytes()
    officezip.normalise(a, 1700000000)
    officezip.normalise(b, 1700000000)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        infos = zf.infolist()
        core, custom = zf.read("docProps/core.xml"), zf.read("docProps/custom.xml")
    assert [i.filename for i in infos] == ["[Content_Types].xml", "docProps/core.xml",
                                           "docProps/custom.xml", "word/document.xml"]
    # 1700000000 s after 1970-01-01 is 2023-11-14 22:13:20 UTC
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert core.count(b">2023-11-14T22:13:20Z</dcterms:") == 2 and b"2026" not in core
    assert b"/tmp/" not in custom and b"bibliography" not in custom
    assert b'pid="2" name="subtitle"><vt:lpwstr>For the tests<' in custom
    once = a.read_bytes()
    officezip.normalise(a, 1700000000)
    assert a.read_bytes() == once  # idempotent


def test_source_date_epoch_default_and_floor():
    assert officezip.source_date_epoch({}) == officezip.DEFAULT_EPOCH
    assert officezip.source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert officezip.source_date_epoch({"SOURCE_DATE_EPOCH": "5"}) == 315532800
