"""A build cache that cannot go stale: every output is keyed on the content of its inputs.

Three levels, each a content hash (SHA-256) of everything the output depends on:

``results``
    the statistics pre-step (results store, tables, figures): the data folder (every file's
    bytes, ``dataset.yaml`` included), the trial in use (:func:`trial_digest`: its
    specification file and the data files of its folder, such as a dictionary), the
    ``analysis`` code and :func:`environment`.
``chapter``
    one chapter's executed cells (built-in engine only): its ``.qmd`` source and every file it
    includes (``{{< include >}}``, recursively), its path in the book, the book's ``execute:``
    options, the inputs key (data, specification, analysis code, environment), the trial's
    text files (its narrative ``*.md`` and bibliography: :func:`trial_digest`), the imported
    ``analysis`` and ``publishing`` packages, and the code and configuration of the project
    outside the book's documents (:func:`project_digest`
    without ``*.qmd``, ``*.md``, ``_quarto.yml``, ``*.bib``, ``*.csl``).
``render``
    the whole published folder: the results key, every source file of the project
    (:func:`project_digest`), the page marks, ``SOURCE_DATE_EPOCH`` and the engine.

:func:`environment` covers the Python version and platform, every installed distribution and
its version (its ``*.dist-info`` folder), the hash of ``requirements.lock``, the engine and
the versions of its parts (pandoc, typst, Quarto), and the environment variables that change
outputs (``REPORT_BLINDED``, ``BLIND_KEY`` / ``BLIND_KEY_FILE``, ``PYTHONHASHSEED``,
``MPLBACKEND``, ``SOURCE_DATE_EPOCH``). A secret is mixed in as a keyed hash and never stored.

Entries live in ``<project>/.cache/build/<level>/<key>/``: the files and a ``manifest.json``
with the size and SHA-256 of each. An entry is written in a temporary folder and renamed into
place (atomic); it is checked against its manifest every time it is used, and one that does
not match (a truncated or altered file, a missing or extra file, a bad manifest) is removed,
reported and rebuilt, never used. ``make clean`` removes the cache.

Hand-written: Quarto's ``freeze`` and Jupyter caches key on the notebook source only (they
miss data and included files, quarto-cli #6793); no maintained library keys on all of these.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

#: bump to invalidate every entry written by an older layout or recipe
FORMAT = 1
MANIFEST = "manifest.json"
#: where the cache lives inside a project (outside the output folder; ``make clean`` removes it)
CACHE_DIR = Path(".cache") / "build"
#: environment variables that change what a render produces
ENV_VARS = ("REPORT_BLINDED", "PYTHONHASHSEED", "MPLBACKEND", "SOURCE_DATE_EPOCH")
SECRET_VARS = ("BLIND_KEY",)
#: never part of a project digest: outputs, caches, version control, environments
#: (``trials``: the trial in use is keyed by itself, :func:`trial_digest`, so an edit to
#: another trial changes nothing here)
SKIP_DIRS = {".git", ".venv", "_output", "_build", ".quarto", "__pycache__", ".pytest_cache",
             ".ruff_cache", ".cache", "tests", "data", "node_modules", "trials"}
#: files of a trial's folder the statistics read (specification, dictionaries, settings) ...
TRIAL_DATA_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
#: ... and those only the chapters read (narrative, bibliography)
TRIAL_TEXT_SUFFIXES = (".md", ".qmd", ".bib", ".csl", ".txt")
SKIP_SUFFIXES = (".pyc",)
#: the book's documents: not part of the context a chapter is executed in
DOCUMENT_PATTERNS = ("*.qmd", "*.md", "_quarto.yml", "*.bib", "*.csl")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path, skip_dirs=frozenset(), skip=(), hidden: bool = True) -> list[Path]:
    out = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs
                         and (hidden or not d.startswith(".")))
        for n in sorted(names):
            p = Path(here) / n
            if (n.endswith(SKIP_SUFFIXES) or any(p.match(pat) for pat in skip)
                    or (not hidden and n.startswith("."))):
                continue
            if p.is_file():
                out.append(p)
    return out


def tree_digest(root: Path, skip_dirs=frozenset(), skip=(), hidden: bool = True) -> str:
    """One hash of every file under ``root`` (relative path and bytes; hidden files and
    folders too unless ``hidden`` is False); ``""`` if absent."""
    root = Path(root)
    if not root.exists():
        return ""
    if root.is_file():
        return file_digest(root)
    h = hashlib.sha256()
    for p in _files(root, skip_dirs, skip, hidden):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + file_digest(p).encode()
                 + b"\n")
    return h.hexdigest()


def project_digest(project: Path, documents: bool = True) -> str:
    """Every source file of the project (not outputs, data, tests, caches, hidden files);
    without the book's documents (:data:`DOCUMENT_PATTERNS`) when ``documents`` is False."""
    return tree_digest(project, SKIP_DIRS, () if documents else DOCUMENT_PATTERNS, hidden=False)


def installed_versions() -> dict[str, str]:
    """Every installed distribution and its version, from the names of the ``*.dist-info``
    (and ``*.egg-info``) folders on ``sys.path``, as :mod:`importlib.metadata` finds them;
    reading each one's metadata file instead costs ~0.3 s."""
    out = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith((".dist-info", ".egg-info")):
                stem = n.rsplit(".", 1)[0]
                name, _, version = stem.partition("-")
                out.setdefault(name.lower().replace("_", "-"), version)
    return dict(sorted(out.items()))


def _secret(name: str, value: bytes) -> str:
    """A keyed hash of a secret: says whether it changed, never what it is."""
    return hmac.new(b"trial-report-build-cache:" + name.encode(), value, "sha256").hexdigest()


def environment(project: Path) -> dict[str, str]:
    """What outside the project's files changes outputs (see the module docstring; the
    engine and its versions are added by :class:`Build`)."""
    env = {"format": str(FORMAT), "python": sys.version, "platform": platform.platform(),
           "executable": sys.executable,
           "packages": _sha(json.dumps(installed_versions()).encode()),
           "requirements.lock": tree_digest(project / "requirements.lock")}
    for var in ENV_VARS:
        env[var] = os.environ.get(var, "")
    for var in SECRET_VARS:
        if os.environ.get(var):
            env[var] = _secret(var, os.environ[var].encode())
    key_file = os.environ.get("BLIND_KEY_FILE")
    if key_file:
        try:
            env["BLIND_KEY_FILE"] = _secret("BLIND_KEY_FILE", Path(key_file).read_bytes())
        except OSError:
            env["BLIND_KEY_FILE"] = "unreadable:" + key_file
    return env


def analysis_dir(project: Path) -> Path:
    """The ``analysis`` package the pre-step runs: the project's own, else the installed one
    (``python -m analysis`` runs in the project folder)."""
    own = project / "analysis"
    if own.is_dir():
        return own
    import analysis

    return Path(analysis.__file__).parent


def imported_code() -> str:
    """The ``analysis`` and ``publishing`` packages this process imports (the kernels import
    the same): part of every chapter and render key, whether or not they lie in the project."""
    import analysis
    import publishing

    return key({pkg.__name__: tree_digest(Path(pkg.__file__).parent, {"__pycache__"})
                for pkg in (analysis, publishing)})


def key(parts: dict) -> str:
    """The hash of a mapping of named parts (order-independent, names included)."""
    return _sha(json.dumps(parts, sort_keys=True, default=str).encode())


def trial_digest(spec: Path | None, data: Path | None = None, text: bool = False) -> dict:
    """The trial in use: its specification file and the files of its folder with
    :data:`TRIAL_DATA_SUFFIXES` (``text=False``: what the statistics read) or
    :data:`TRIAL_TEXT_SUFFIXES` (``text=True``: narrative and bibliography, which only the
    chapters read; also the specification's ``references:`` file wherever it lies). The data
    folder (keyed by itself) is left out when it lies inside the trial folder. ``{}`` for a
    book with no trial."""
    if spec is None:
        return {}
    spec = Path(spec)
    folder = spec.parent
    suffixes = TRIAL_TEXT_SUFFIXES if text else TRIAL_DATA_SUFFIXES
    skip = set()
    if data is not None:
        try:
            skip.add(Path(data).resolve().relative_to(folder.resolve()).parts[0])
        except (ValueError, IndexError):
            pass
    out = {"path": str(spec)}
    for p in _files(folder, skip_dirs={"__pycache__", *skip}, hidden=False):
        if p.suffix.lower() in suffixes:
            out[p.relative_to(folder).as_posix()] = file_digest(p)
    if not text:
        out["spec"] = file_digest(spec)
    else:
        import yaml

        try:
            refs = (yaml.safe_load(spec.read_text(encoding="utf-8")) or {}).get("references")
        except (OSError, yaml.YAMLError, AttributeError):
            refs = None
        if isinstance(refs, str):
            out["references"] = tree_digest(folder / refs)
    return out


def inputs_key(project: Path, data: Path, env: dict[str, str], trial: Path | None = None) -> str:
    """The statistics' inputs: data, the trial's specification (:func:`trial_digest`),
    analysis code and the environment."""
    data = Path(data)
    return key({"level": "inputs", "data": tree_digest(data), "data-path": str(data),
                "trial": trial_digest(trial, data),
                "analysis": tree_digest(analysis_dir(project), {"__pycache__"}), "env": env})


def includes(path: Path, _seen: tuple[Path, ...] = ()) -> list[Path]:
    """Every file ``path`` includes with ``{{< include >}}``, recursively (missing ones too:
    their absence is part of the key, and the engine reports them)."""
    from publishing.qmd import INCLUDE

    out: list[Path] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return out
    for m in INCLUDE.finditer(text):
        inc = (path.parent / m.group(1)).resolve()
        if inc in _seen or inc == path.resolve():
            continue
        out.append(inc)
        if inc.exists():
            out += includes(inc, (*_seen, path.resolve(), inc))
    return out


def chapter_key(root: Path, path: Path, execute: dict, inputs: str, context: str) -> str:
    """The key of one chapter's executed cells (see the module docstring)."""
    files = {}
    for p in [path, *includes(path)]:
        rel = os.path.relpath(p, root)
        files[rel] = file_digest(p) if p.exists() else "missing"
    return key({"level": "chapter", "chapter": os.path.relpath(path, root), "files": files,
                "execute": execute, "inputs": inputs, "context": context})


class Cache:
    """Entries under ``root`` (``<project>/.cache/build``); ``progress`` hears about corrupt
    entries. ``hits``/``misses`` count lookups per level (for messages and tests)."""

    def __init__(self, root: Path, progress=print):
        self.root = Path(root)
        self.progress = progress
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}

    def path(self, level: str, k: str) -> Path:
        return self.root / level / k

    def get(self, level: str, k: str) -> Path | None:
        """The verified entry folder for ``(level, key)``, or None (absent or corrupt)."""
        entry = self.path(level, k)
        if not entry.is_dir():
            self.misses[level] = self.misses.get(level, 0) + 1
            return None
        problem = verify(entry, k)
        if problem:
            self.progress(f"  cache: {level} entry {k[:12]} is corrupt ({problem}); rebuilding")
            self.discard(entry)
            self.misses[level] = self.misses.get(level, 0) + 1
            return None
        self.hits[level] = self.hits.get(level, 0) + 1
        return entry

    def discard(self, entry: Path) -> None:
        """Remove an entry: renamed aside first, so no reader sees half of it."""
        trash = Path(tempfile.mkdtemp(prefix="trash-", dir=self.root))
        try:
            os.rename(entry, trash / "entry")
        except OSError:
            pass
        shutil.rmtree(trash, ignore_errors=True)

    def put(self, level: str, k: str, source: Path | None = None,
            files: dict[str, bytes] | None = None, meta: dict | None = None) -> Path | None:
        """Store a copy of the folder ``source`` (or the ``files``: name -> bytes) as the
        entry ``(level, key)``, with ``meta`` in its manifest; atomic (temporary folder,
        then one rename). A failure to write the cache (full disk, read-only) is reported and
        ignored: the build goes on."""
        entry = self.path(level, k)
        tmp = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{k[:12]}-", dir=entry.parent))
            body = tmp / "entry"
            if source is not None:
                shutil.copytree(source, body, symlinks=False)
            else:
                body.mkdir()
            for name, data in (files or {}).items():
                (body / name).parent.mkdir(parents=True, exist_ok=True)
                (body / name).write_bytes(data)
            manifest = {**(meta or {}), "format": FORMAT, "key": k, "files": {
                p.relative_to(body).as_posix(): [p.stat().st_size, file_digest(p)]
                for p in sorted(body.rglob("*")) if p.is_file()}}
            (body / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True),
                                         encoding="utf-8")
            if entry.exists():  # a corrupt one (get() removed it) or a concurrent writer
                self.discard(entry)
            try:
                os.rename(body, entry)
            except OSError:
                if entry.is_dir() and not verify(entry, k):  # a concurrent writer won
                    return entry
                raise
            return entry
        except OSError as err:
            self.progress(f"  cache: could not store a {level} entry ({err.strerror or err}); "
                          "continuing without it")
            return None
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)


def verify(entry: Path, k: str) -> str:
    """``""`` when the entry's files match its manifest exactly, else what is wrong."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format") != FORMAT or manifest.get("key") != k:
            return "manifest of another key or format"
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable manifest"
    present = {p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    if present != set(files):
        return "missing or extra files"
    for rel, (size, digest) in files.items():
        p = entry / rel
        if p.stat().st_size != size:
            return f"{rel} has {p.stat().st_size} bytes, not {size}"
        if file_digest(p) != digest:
            return f"{rel} does not match its checksum"
    return ""


def copy_out(entry: Path, dest: Path) -> list[Path]:
    """Copy an entry's files (not its manifest) into ``dest``; returns the top-level paths."""
    dest.mkdir(parents=True, exist_ok=True)
    top = []
    for item in sorted(entry.iterdir()):
        if item.name == MANIFEST:
            continue
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
        top.append(target)
    return top


#: what later steps of ``make report`` add to the report's output folder (the article, the
#: supplement and its zip): a report is still unchanged when the folder also holds those
LATER_PARTS = ("article", "supplement", "online-supplement")


def same_files(entry: Path, folder: Path, besides: tuple[str, ...] = ()) -> bool:
    """True when ``folder`` holds exactly the entry's files, byte for byte, apart from top-level
    files and folders whose name starts with one of ``besides``."""
    try:
        files = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))["files"]
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                   and not p.relative_to(folder).parts[0].startswith(besides)}
        if present != set(files):
            return False
        return all(file_digest(folder / rel) == d for rel, (_, d) in files.items())
    except (OSError, ValueError, KeyError):
        return False


def holds(entry: Path, folder: Path) -> bool:
    """True when ``folder`` holds every file of the entry, byte for byte (and maybe more)."""
    try:
        files = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))["files"]
        return all((folder / rel).is_file() and file_digest(folder / rel) == d
                   for rel, (_, d) in files.items())
    except (OSError, ValueError, KeyError):
        return False


def for_project(project: Path, enabled: bool | None = None, progress=print) -> Cache | None:
    """The project's cache (``<project>/.cache/build``), or None when not ``enabled``
    (default: ``$REPORT_CACHE`` is ``1``)."""
    if enabled is None:
        enabled = os.environ.get("REPORT_CACHE", "0") == "1"
    return Cache(Path(project) / CACHE_DIR, progress) if enabled else None


#: entries kept per level (the newest; older ones are pruned after each store)
KEEP = {"results": 4, "chapter": 120, "render": 4, "article": 4, "supplement": 4}


def prune(cache: Cache, level: str, keep: int | None = None) -> None:
    """Remove all but the ``keep`` newest entries of ``level``."""
    keep = KEEP.get(level, 8) if keep is None else keep
    folder = cache.root / level
    try:
        entries = sorted((p for p in folder.iterdir() if p.is_dir() and not
                          p.name.startswith((".tmp-", "trash-"))),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for p in entries[keep:]:
        cache.discard(p)


class Build:
    """The keys of one render and what to reuse (a render without a cache has no hits).

    ``inputs`` keys the results pre-step; ``chapters`` (inputs and the engine label the
    kernels see) is what chapter keys add to their own files; ``render`` keys the published
    folder. ``files`` are the engine's top-level files (as the render returns them).
    """

    def __init__(self, cache: Cache | None, project: Path, data: Path, engine: str,
                 label: str, marks: list[str], results: bool, exclude=(),
                 trial: Path | None = None):
        self.cache = cache
        self.files: list[str] = []
        if cache is None:
            self.inputs = self.chapters = self.render = ""
            return
        self.inputs = inputs_key(project, data, environment(project), trial)
        self.chapters = key({"inputs": self.inputs, "engine": label, "code": imported_code(),
                             "trial-text": trial_digest(trial, data, text=True)})
        self.render = key({"level": "render", "chapters": self.chapters, "results": results,
                           "engine": engine, "marks": marks,
                           "project": tree_digest(project, SKIP_DIRS | set(exclude),
                                                  hidden=False)})

    def reuse(self, staged_out: Path, final: Path) -> str | None:
        """``"unchanged"`` when the cached render is already what ``final`` holds,
        ``"copied"`` when it was copied into ``staged_out`` (to be published), else None."""
        if self.cache is None:
            return None
        entry = self.cache.get("render", self.render)
        if entry is None:
            return None
        self.files = json.loads((entry / MANIFEST).read_text(encoding="utf-8")).get(
            "published", [])
        if final.is_dir() and same_files(entry, final, LATER_PARTS):
            return "unchanged"
        copy_out(entry, staged_out)
        return "copied"

    def store(self, staged_out: Path, files: list[Path]) -> None:
        """Keep the folder about to be published as this render's entry."""
        if self.cache is None:
            return
        self.files = [f.name for f in files]
        self.cache.put("render", self.render, staged_out, meta={"published": self.files})
        prune(self.cache, "render")

    def results(self, out: Path, compute, progress=print) -> None:
        """Fill ``out`` with the results pre-step's files: from the cache when its inputs are
        unchanged, else by ``compute(out)`` (then stored)."""
        if self.cache is not None:
            entry = self.cache.get("results", self.inputs)
            if entry is not None:
                copy_out(entry, out)
                progress("  results reused (data, specification, analysis code and "
                         "environment unchanged)")
                return
        compute(out)
        if self.cache is not None:
            self.cache.put("results", self.inputs, out)
            prune(self.cache, "results")

