"""The build cache (publishing/cache.py): every kind of change invalidates what depends on it,
corrupt entries are rebuilt, and cached renders are byte-identical to clean ones."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from publishing import cache
from publishing.render import render

FIXTURE = Path(__file__).parent / "fixtures" / "book"
VALID = Path(__file__).parent / "fixtures" / "data" / "valid"


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _render(project: Path, out: Path, use_cache: bool = True) -> list[str]:
    lines: list[str] = []
    render(project, project / "data", "builtin", out, results=False, progress=lines.append,
           use_cache=use_cache)
    return lines


def _executed(lines: list[str]) -> list[str]:
    """Chapters whose kernels ran (progress lines ``[i/n] name (x.y s)``)."""
    return sorted(ln.split("] ", 1)[1].rsplit(" (", 1)[0] for ln in lines
                  if "] " in ln and ln.strip().startswith("[") and not ln.endswith("(reused)"))


@pytest.fixture(scope="module", autouse=True)
def frozen_code():
    """The working tree's analysis and publishing code may change under a running test (other
    work in the same tree), and that rightly invalidates the cache; here it is held fixed
    (code changes are tested on a project of their own)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cache, "imported_code", lambda: "fixed for the test")
        yield


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The fixture book copied to a temporary project (with an ``analysis`` folder of its own,
    so its inputs key does not follow the working tree), rendered once with a cold cache."""
    root = tmp_path_factory.mktemp("cached")
    project = root / "book"
    shutil.copytree(FIXTURE, project)
    (project / "analysis").mkdir()
    (project / "analysis" / "__init__.py").write_text("")
    out = root / "out"
    lines = _render(project, out)
    return project, out, lines


# --- keys: each kind of change invalidates --------------------------------------------------


@pytest.fixture
def project(tmp_path):
    """A small project: a copy of the valid data, a trial specification and analysis code."""
    p = tmp_path / "proj"
    shutil.copytree(VALID, p / "data")
    (p / "data" / "dataset.yaml").write_text("name: t\nsynthetic: true\n")
    (p / "trials" / "t").mkdir(parents=True)
    (p / "trials" / "t" / "trial.yaml").write_text("arms:\n  - id: A\n    control: true\n")
    (p / "analysis").mkdir()
    (p / "analysis" / "stats.py").write_text("def mean(x):\n    return sum(x) / len(x)\n")
    return p


def _inputs(p: Path) -> str:
    return cache.inputs_key(p, p / "data", cache.environment(p), p / "trials" / "t" / "trial.yaml")


def test_one_data_cell_changes_the_inputs_key(project):
    before = _inputs(project)
    assert _inputs(project) == before  # deterministic
    adsl = project / "data" / "adsl.csv"
    lines = adsl.read_text().splitlines()
    cells = lines[1].split(",")
    cells[-1] = cells[-1] + "0" if cells[-1] else "1"
    adsl.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    assert _inputs(project) != before


def test_dataset_yaml_and_one_spec_value_change_the_inputs_key(project):
    before = _inputs(project)
    (project / "data" / "dataset.yaml").write_text("name: t\nsynthetic: false\n")
    after_yaml = _inputs(project)
    assert after_yaml != before
    spec = project / "trials" / "t" / "trial.yaml"
    spec.write_text(spec.read_text().replace("control: true", "control: false"))
    assert _inputs(project) != after_yaml


def test_the_trial_in_use_is_keyed_by_its_own_files(project):
    spec = project / "trials" / "t" / "trial.yaml"
    (project / "trials" / "t" / "text").mkdir()
    intro = project / "trials" / "t" / "text" / "introduction.md"
    intro.write_text("The trial.\n")
    (project / "trials" / "other").mkdir()
    other = project / "trials" / "other" / "trial.yaml"
    other.write_text("arms: []\n")
    before, text = _inputs(project), cache.trial_digest(spec, project / "data", text=True)
    other.write_text("arms: [x]\n")  # another trial: nothing of this one changes
    assert _inputs(project) == before
    assert cache.project_digest(project) == cache.project_digest(project)
    intro.write_text("The trial, revised.\n")  # narrative: the chapters only, not the results
    assert _inputs(project) == before
    assert cache.trial_digest(spec, project / "data", text=True) != text
    (project / "trials" / "t" / "dictionary.yaml").write_text("x: 1\n")
    assert _inputs(project) != before


def test_one_spec_value_recomputes_the_results_and_reexecutes_the_chapters(project):
    spec = project / "trials" / "t" / "trial.yaml"
    calls = []

    def compute(out: Path) -> None:
        calls.append(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.csv").write_text(spec.read_text())

    def build() -> cache.Build:
        return cache.Build(cache.Cache(project / cache.CACHE_DIR, lambda *a: None), project,
                           project / "data", "builtin", "builtin (test)", [], True, (), spec)

    first = build()
    first.results(project.parent / "r1", compute, lambda *a: None)
    again = build()
    again.results(project.parent / "r2", compute, lambda *a: None)
    assert len(calls) == 1 and again.chapters == first.chapters
    spec.write_text(spec.read_text().replace("control: true", "control: false"))
    edited = build()
    edited.results(project.parent / "r3", compute, lambda *a: None)
    assert len(calls) == 2 and "control: false" in (project.parent / "r3" / "results.csv"
                                                     ).read_text()
    assert edited.chapters != first.chapters and edited.render != first.render


def test_one_line_of_analysis_code_changes_the_inputs_key(project):
    before = _inputs(project)
    code = project / "analysis" / "stats.py"
    code.write_text(code.read_text().replace("len(x)", "(len(x) - 1)"))
    assert cache.analysis_dir(project) == project / "analysis"
    assert _inputs(project) != before


def test_a_package_version_changes_the_environment(project, monkeypatch):
    before = _inputs(project)
    real = cache.installed_versions()
    assert real["pandas"]  # the installed distributions are read
    bumped = dict(real, pandas=real["pandas"] + ".post1")
    monkeypatch.setattr(cache, "installed_versions", lambda: bumped)
    assert _inputs(project) != before


def test_blinding_variables_change_the_key_and_the_secret_is_not_stored(project, monkeypatch):
    monkeypatch.delenv("REPORT_BLINDED", raising=False)
    monkeypatch.delenv("BLIND_KEY", raising=False)
    plain = _inputs(project)
    monkeypatch.setenv("REPORT_BLINDED", "1")
    monkeypatch.setenv("BLIND_KEY", "s3cret-value")
    one = _inputs(project)
    env = cache.environment(project)
    assert "s3cret-value" not in repr(env)
    monkeypatch.setenv("BLIND_KEY", "another")
    assert len({plain, one, _inputs(project)}) == 3


def test_an_included_file_changes_only_its_chapter(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURE, root)
    one, two = root / "chapters" / "one.qmd", root / "chapters" / "two.qmd"

    def keys():
        return [cache.chapter_key(root, p, {"echo": False}, "inputs", "ctx") for p in (one, two)]

    k1, k2 = keys()
    assert cache.includes(one) == [(root / "chapters" / "_inc.qmd").resolve()]
    inc = root / "chapters" / "_inc.qmd"
    inc.write_text(inc.read_text().replace("value + 1", "value + 2"))
    n1, n2 = keys()
    assert n1 != k1 and n2 == k2
    two.write_text(two.read_text() + "\nOne more sentence.\n")
    m1, m2 = keys()
    assert m1 == n1 and m2 != n2
    # the inputs key and the code context reach every chapter
    assert cache.chapter_key(root, two, {"echo": False}, "other", "ctx") != m2
    assert cache.chapter_key(root, two, {"echo": False}, "inputs", "ctx2") != m2
    assert cache.chapter_key(root, two, {"echo": True}, "inputs", "ctx") != m2


def test_code_context_ignores_documents_but_not_code(tmp_path):
    root = tmp_path / "p"
    shutil.copytree(FIXTURE, root)
    (root / "lib.py").write_text("X = 1\n")
    ctx = cache.project_digest(root, documents=False)
    (root / "chapters" / "two.qmd").write_text("# Changed\n")
    (root / "README.md").write_text("notes\n")
    assert cache.project_digest(root, documents=False) == ctx
    (root / "lib.py").write_text("X = 2\n")
    assert cache.project_digest(root, documents=False) != ctx


# --- entries: verified, atomic, corrupt ones rebuilt ------------------------------------------


def _entry(tmp_path) -> tuple[cache.Cache, list[str], Path]:
    said: list[str] = []
    c = cache.Cache(tmp_path / "c", said.append)
    src = tmp_path / "src"
    (src / "tables").mkdir(parents=True)
    (src / "results.csv").write_text("a,b\n1,2\n")
    (src / "tables" / "t.csv").write_text("x\n3\n")
    c.put("results", "k1", src)
    return c, said, c.path("results", "k1")


def test_an_entry_round_trips_and_leaves_no_temporary_folder(tmp_path):
    c, said, entry = _entry(tmp_path)
    got = c.get("results", "k1")
    assert got == entry and said == []
    dest = tmp_path / "dest"
    cache.copy_out(got, dest)
    assert _digests(dest) == _digests(tmp_path / "src")
    assert sorted(p.name for p in (tmp_path / "c" / "results").iterdir()) == ["k1"]
    assert c.get("results", "other") is None


def test_a_report_stays_unchanged_beside_the_article_and_supplement(tmp_path):
    """``make report`` adds article/ and the supplement after the report: the report's entry
    still matches; any other extra, missing or changed file does not."""
    c, _said, entry = _entry(tmp_path)
    out = tmp_path / "out"
    cache.copy_out(entry, out)
    (out / "article").mkdir()
    (out / "article" / "a.pdf").write_bytes(b"pdf")
    (out / "online-supplement.zip").write_bytes(b"zip")
    assert not cache.same_files(entry, out)
    assert cache.same_files(entry, out, cache.LATER_PARTS)
    assert cache.holds(entry, out)  # every file of the entry is there
    (out / "stale.csv").write_text("x")
    assert not cache.same_files(entry, out, cache.LATER_PARTS)
    some = next(p for p in out.rglob("*") if p.is_file() and p.parent == out
                and p.name != "stale.csv" and not p.name.startswith("online"))
    some.write_bytes(some.read_bytes() + b"!")
    assert not cache.holds(entry, out)


@pytest.mark.parametrize("damage", ["truncate", "flip", "extra", "missing", "manifest"])
def test_a_corrupt_entry_is_detected_removed_and_never_used(tmp_path, damage):
    c, said, entry = _entry(tmp_path)
    f = entry / "results.csv"
    if damage == "truncate":
        f.write_bytes(f.read_bytes()[:-3])
    elif damage == "flip":  # same size, one byte different
        data = bytearray(f.read_bytes())
        data[0] ^= 1
        f.write_bytes(bytes(data))
    elif damage == "extra":
        (entry / "stray.txt").write_text("?")
    elif damage == "missing":
        (entry / "tables" / "t.csv").unlink()
    else:
        (entry / cache.MANIFEST).write_text("{not json")
    assert c.get("results", "k1") is None
    assert not entry.exists()
    assert len(said) == 1 and "corrupt" in said[0]


def test_results_step_reused_only_while_its_inputs_are_unchanged(project):
    calls = []

    def compute(out: Path) -> None:
        calls.append(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.csv").write_bytes((project / "data" / "adsl.csv").read_bytes()[:50])

    def run(dest: Path) -> Path:
        b = cache.Build(cache.Cache(project / cache.CACHE_DIR, lambda *a: None), project,
                        project / "data", "builtin", "builtin (test)", [], True)
        b.results(dest, compute, lambda *a: None)
        return dest

    first = run(project.parent / "o1")
    second = run(project.parent / "o2")
    assert len(calls) == 1 and _digests(first) == _digests(second)
    code = project / "analysis" / "stats.py"
    code.write_text(code.read_text() + "# one more line\n")
    run(project.parent / "o3")
    assert len(calls) == 2


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    said = []
    assert cache.Cache(blocker / "c", said.append).put("chapter", "k", files={"a": b"1"}) is None
    assert "could not store" in said[0] and blocker.read_text().startswith("a file")


def test_prune_keeps_the_newest_entries(tmp_path):
    c = cache.Cache(tmp_path / "c", lambda *a: None)
    for i in range(5):
        c.put("render", f"k{i}", files={"f": str(i).encode()})
        os.utime(c.path("render", f"k{i}"), (1000 + i, 1000 + i))
    cache.prune(c, "render", keep=2)
    assert sorted(p.name for p in (tmp_path / "c" / "render").iterdir()) == ["k3", "k4"]


# --- renders of the fixture book --------------------------------------------------------------


def test_cold_render_executes_every_chapter_and_fills_the_cache(book):
    project, out, lines = book
    assert _executed(lines) == ["chapters/app.qmd", "chapters/one.qmd", "chapters/two.qmd",
                                "index.qmd"]
    assert len(list((project / cache.CACHE_DIR / "chapter").iterdir())) == 4
    assert len(list((project / cache.CACHE_DIR / "render").iterdir())) == 1


def test_unchanged_rerun_reuses_everything_and_leaves_the_output_alone(book):
    project, out, _ = book
    before, version = _digests(out), out.resolve()
    lines = _render(project, out)
    assert any(ln.startswith("Reused everything") for ln in lines)
    assert _executed(lines) == [] and not any("Rendering" in ln for ln in lines)
    assert _digests(out) == before and out.resolve() == version


def test_one_chapter_edit_reexecutes_that_chapter_only_and_matches_a_clean_build(book,
                                                                              tmp_path):
    project, out, _ = book
    two = project / "chapters" / "two.qmd"
    original = two.read_text()
    try:
        two.write_text(original.replace("Back to", "Now back to"))
        lines = _render(project, out)
        assert _executed(lines) == ["chapters/two.qmd"]
        assert sum(ln.endswith("(reused)") for ln in lines) == 3
        clean = tmp_path / "clean"
        _render(project, clean, use_cache=False)
        assert _digests(out) == _digests(clean)
        assert "Now back to" in (out / "fixture.html").read_text(encoding="utf-8")
    finally:
        two.write_text(original)


def test_a_corrupt_render_entry_is_rebuilt_not_published(book, tmp_path):
    project, out, _ = book
    _render(project, out)  # the output of the sources as they are now (from the cache)
    good = _digests(out)
    (entry,) = [p for p in (project / cache.CACHE_DIR / "render").iterdir()
                if cache.verify(p, p.name) == "" and cache.same_files(p, out)]
    html = entry / "fixture.html"
    html.write_bytes(html.read_bytes()[:1000])  # truncated
    lines = _render(project, out)
    assert any("corrupt" in ln for ln in lines)
    assert _executed(lines) == []  # the chapters' entries were intact
    assert _digests(out) == good
