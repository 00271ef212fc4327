"""The output folder: one complete report at every instant, one writer at a time.

Layout, for an output folder ``_output``::

    _output -> ._output.versions/<id>    a relative symlink: the current report
    ._output.versions/<id>/              complete versions (normally only the current one)
    ._output.versions/<id>.partial/      a version being written
    ._output.lock                        held (``flock``) by the command writing ``_output``

:func:`publish` writes the new version beside the current one, then points ``_output`` at it
by renaming a new symlink over the old one: one ``rename(2)``, so at every instant ``_output``
is one complete report. Only after that switch are the other versions removed; a run killed at
any point leaves the previous report in place, and the next run removes what it left behind
(``*.partial`` versions, a stray temporary symlink, staging folders of dead processes).

The first publish into a plain ``_output/`` folder (the layout before versions) exchanges it
with the new symlink in one ``renameat2(RENAME_EXCHANGE)`` where the kernel offers it.

Write failures become one :class:`OutputError` line that says what was kept, e.g.
``cannot write _output: disk full; the previous report in _output/ is unchanged``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: the environment variable naming a fault point at which to SIGKILL this process (tests)
KILL_AT = "REPORT_KILL_AT"
#: the file a staging folder carries to prove whose it is
STAGING_MARK = ".report-staging"

_WHY = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
        errno.EPERM: "permission denied"}


class OutputError(RuntimeError):
    """The output folder could not be written; the message says what state it was left in."""


class OutputBusy(OutputError):
    """Another process holds the output folder's lock."""


def fault(point: str) -> None:
    """Kill this process with SIGKILL if ``$REPORT_KILL_AT`` names ``point`` (fault tests)."""
    if os.environ.get(KILL_AT) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it (as a user typed it)."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except (ValueError, OSError):  # outside the working directory, or no working directory
        return str(path)


@dataclass(frozen=True)
class Layout:
    """The paths that make up one output folder (see the module docstring)."""

    final: Path

    @property
    def versions(self) -> Path:
        return self.final.parent / f".{self.final.name}.versions"

    @property
    def lock(self) -> Path:
        return self.final.parent / f".{self.final.name}.lock"

    @property
    def link(self) -> Path:
        """Where the next symlink is made before it is renamed over ``final``."""
        return self.final.parent / f".{self.final.name}.link"

    @property
    def aside(self) -> Path:
        """Where a plain ``final`` waits during a migration without RENAME_EXCHANGE."""
        return self.final.parent / f".{self.final.name}.previous"

    def legacy(self, kind: str) -> Path:
        """``.<name>.new`` / ``.<name>.old`` of the publish before versions."""
        return self.final.parent / f".{self.final.name}.{kind}"

    def names(self) -> list[str]:
        """Names (globs) in the parent folder that belong to this output folder."""
        return [self.final.name, f".{self.final.name}.*"]


def layout(final: Path | str) -> Layout:
    """The :class:`Layout` of the output folder ``final`` (made absolute, symlink kept)."""
    final = Path(os.path.abspath(final))
    return Layout(final)


def has_report(final: Path) -> bool:
    """True when ``final`` is (or points at) an existing folder."""
    return final.is_dir()


def state(final: Path) -> str:
    """What a failure left in ``final``, as the end of a sentence."""
    if has_report(final):
        return f"the previous report in {shown(final)}/ is unchanged"
    return f"nothing was published to {shown(final)}/"


def describe(err: OSError, final: Path, path: Path | None = None) -> str:
    """One line for a failed write: the path, why, and the state of ``final``."""
    where = err.filename2 or err.filename or path or final  # the destination when both
    why = _WHY.get(err.errno, err.strerror or str(err))
    return f"cannot write {where}: {why}; {state(final)}"


def is_write_failure(err: BaseException) -> bool:
    """A full disk or a folder that cannot be written (not a bug in the render)."""
    return isinstance(err, OSError) and err.errno in _WHY


# ------------------------------------------------------------------ lock

_held: dict[Path, list] = {}  # lock path -> [fd, depth]: a process may re-enter its own lock


@contextmanager
def lock(final: Path | str):
    """Hold the lock of the output folder ``final`` or raise :class:`OutputBusy` at once.

    The lock file ``.<name>.lock`` is removed on release; a holder killed by a signal
    releases it with its file descriptors. Re-entrant within one process.
    """
    lay = layout(final)
    path = lay.lock
    if path in _held:
        _held[path][1] += 1
        try:
            yield lay
        finally:
            _held[path][1] -= 1
        return
    try:
        lay.final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if is_write_failure(err):
            raise OutputError(describe(err, lay.final, lay.final.parent)) from None
        raise
    fd = _acquire(path, lay.final)
    _held[path] = [fd, 1]
    try:
        yield lay
    finally:
        del _held[path]
        try:
            os.unlink(path)  # while still locked: a waiting opener sees another inode
        except OSError:
            pass
        os.close(fd)


def _acquire(path: Path, final: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            if is_write_failure(err):
                raise OutputError(describe(err, final, path)) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputBusy(f"another render of {shown(final)} is running (pid {pid})") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file between our open and flock
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd


# ------------------------------------------------------------------ staging folders


def _start_time(pid: int) -> str:
    """The start time of process ``pid`` (Linux ``/proc``), or ``""`` where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or not _start_time(pid) or _start_time(pid) == started


@contextmanager
def staging(prefix: str = "publishing-"):
    """A temporary folder ``<TMPDIR>/<prefix><pid>-XXXX`` marked as this process's; removed
    on exit. Folders of this kind left by dead processes are removed first (:func:`sweep`)."""
    sweep(prefix)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    try:
        (tmp / STAGING_MARK).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sweep(prefix: str = "publishing-", root: Path | str | None = None) -> list[Path]:
    """Remove the staging folders ``<prefix><pid>-*`` of dead processes: only folders owned by
    this user whose mark file names that pid (and its start time). Returns what was removed."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        candidates = list(root.glob(f"{prefix}*-*"))
    except OSError:
        return removed
    for folder in candidates:
        pid_text = folder.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            mark = (folder / STAGING_MARK).read_text().split()
        except OSError:
            continue
        if not mark or mark[0] != pid_text:
            continue
        if not _alive(int(pid_text), mark[1] if len(mark) > 1 else ""):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ------------------------------------------------------------------ copying and renaming


def copy_tree(src: Path, dst: Path, ignore=None) -> Path:
    """Copy the folder ``src`` to a new folder ``dst``; symlinks are copied as links.

    Unlike :func:`shutil.copytree`, which gathers every failure into one
    :class:`shutil.Error` of strings, this stops at the first :class:`OSError` and raises it
    unchanged, so a full disk is recognised by its ``errno`` (``ignore`` as for copytree).
    """
    src, dst = Path(src), Path(dst)
    for here, dirs, files in os.walk(src):
        rel = Path(here).relative_to(src)
        skip = set(ignore(here, dirs + files)) if ignore else set()
        dirs[:] = sorted(d for d in dirs if d not in skip)
        target = dst / rel
        target.mkdir(parents=rel == Path("."))
        for name in sorted(n for n in files if n not in skip) + [
                d for d in dirs if (Path(here) / d).is_symlink()]:
            s = Path(here) / name
            if s.is_symlink():
                os.symlink(os.readlink(s), target / name)
            else:
                shutil.copy2(s, target / name)
            fault("mid-copy")
        dirs[:] = [d for d in dirs if not (Path(here) / d).is_symlink()]
    return dst


def _move_tree(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, or copy then remove it across filesystems."""
    try:
        os.rename(src, dst)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        copy_tree(src, dst)
        shutil.rmtree(src, ignore_errors=True)


_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> None:
    """Swap the names ``a`` and ``b`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Raises :class:`OSError` (``ENOSYS``/``EINVAL``) where the system or filesystem lacks it.
    """
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        raise OSError(errno.ENOSYS, "renameat2 is not available") from None
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(a), None, str(b))


def _remove(path: Path) -> None:
    """Remove a file, symlink or folder (write-protected folders of ours too)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return

    def writable_and_retry(func, p, _exc_info):
        os.chmod(os.path.dirname(p), 0o755)
        if os.path.isdir(p) and not os.path.islink(p):
            os.chmod(p, 0o755)
        func(p)

    shutil.rmtree(path, onerror=writable_and_retry)


# ------------------------------------------------------------------ publish


def current_version(lay: Layout) -> Path | None:
    """The version folder ``final`` points at, or None (absent, or a plain folder)."""
    if not lay.final.is_symlink():
        return None
    target = Path(os.path.normpath(lay.final.parent / os.readlink(lay.final)))
    return target if target.parent == lay.versions and target.is_dir() else None


def recover(lay: Layout) -> None:
    """Undo what a killed run left (call with the lock held); never removes the report that
    ``final`` shows, and never a version while ``final`` is missing."""
    if not lay.final.exists() and not lay.final.is_symlink():
        for spare in (lay.aside, lay.legacy("old")):  # a killed migration / old-style publish
            if spare.is_dir() and not spare.is_symlink():
                spare.rename(lay.final)
                break
    if lay.link.is_symlink():
        lay.link.unlink()
    elif lay.link.is_dir() and current_version(lay):  # the plain folder a migration replaced
        _remove(lay.link)
    if lay.versions.is_dir():
        for p in lay.versions.glob("*.partial"):
            _remove(p)


def new_id(lay: Layout) -> str:
    """A fresh version name: UTC time and pid (never shown in any output file)."""
    base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"
    name, n = base, 1
    while (lay.versions / name).exists() or (lay.versions / f"{name}.partial").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def switch(lay: Layout, version: Path) -> None:
    """Point ``final`` at ``version`` with one rename (an exchange for a plain folder)."""
    if lay.link.is_symlink():
        lay.link.unlink()
    os.symlink(os.path.relpath(version, lay.final.parent), lay.link)
    fault("before-switch")
    if lay.final.is_dir() and not lay.final.is_symlink():
        try:
            exchange(lay.link, lay.final)  # now lay.link is the old plain folder
        except OSError as err:
            if err.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
                raise
            lay.final.rename(lay.aside)  # recover() puts it back if we die here
            fault("migrate-aside")
            os.replace(lay.link, lay.final)
        fault("migrate-exchanged")
    else:
        os.replace(lay.link, lay.final)


def cleanup(lay: Layout, keep: Path, progress=print) -> None:
    """After a switch: remove every version but ``keep`` and what older layouts left."""
    spares = [lay.link, lay.aside, lay.legacy("new"), lay.legacy("old")]
    if lay.versions.is_dir():
        spares += [p for p in sorted(lay.versions.iterdir()) if p != keep]
    for p in spares:
        if not (p.exists() or p.is_symlink()):
            continue
        try:
            _remove(p)
        except OSError as err:  # the new report is published; say what stays behind
            progress(f"note: could not remove the superseded {shown(p)} ({err.strerror})")


def publish(staged: Path | str, final: Path | str, progress=print) -> Path:
    """Make the complete folder ``staged`` the report in ``final`` (see the module docstring).

    ``staged`` is moved (renamed, or copied across filesystems). Returns the version folder.
    Raises :class:`OutputError` on a full disk or an unwritable folder, having removed the
    partial copy; ``final`` is then unchanged.
    """
    staged = Path(staged)
    with lock(final) as lay:
        recover(lay)
        created = not lay.versions.exists()
        vid = new_id(lay)
        partial = lay.versions / f"{vid}.partial"
        version = lay.versions / vid
        try:
            lay.versions.mkdir(exist_ok=True)
            fault("before-copy")
            _move_tree(staged, partial)
            fault("before-complete")
            partial.rename(version)
            switch(lay, version)
        except OSError as err:
            if current_version(lay) != version:  # not switched: remove every trace
                for p in (partial, version):
                    shutil.rmtree(p, ignore_errors=True)
                recover(lay)
            if created:
                try:
                    lay.versions.rmdir()
                except OSError:
                    pass
            if is_write_failure(err):
                raise OutputError(describe(err, lay.final)) from None
            raise
        fault("after-switch")
        cleanup(lay, version, progress)
    return version
