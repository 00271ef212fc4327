from types import SimpleNamespace

from analysis.report import Report, synthetic_notice
from analysis.results import ResultsStore, result_row


def _report():
    store = ResultsStore.empty().add([
        result_row("responder_m12", "percent", 69.387755, arm="Sham", visit=12),
        result_row("responder_m12", "n_responders", 34, arm="Sham", visit=12),
        result_row("responder_m12", "p_value", 0.774659, arm="BM-MSC vs Sham", visit=12),
        result_row("t2", "mean_difference", 0.5967, arm="BM-MSC vs Sham", visit=12,
                   lower=-1.8746, upper=3.0679),
    ])
    return Report(trial=SimpleNamespace(synthetic=True), store=store)


def test_prose_lookups_format_the_store_values():
    rep = _report()
    assert rep.pct("responder_m12", arm="Sham") == "69%"
    assert rep.count("responder_m12", "n_responders", arm="Sham") == "34"
    assert rep.p("responder_m12", arm="BM-MSC vs Sham") == "0.77"
    assert rep.ci("t2", "mean_difference", arm="BM-MSC vs Sham") == "0.6 (95% CI −1.9 to 3.1)"


def test_synthetic_notice_only_for_synthetic_data():
    assert "synthetic" in synthetic_notice(SimpleNamespace(synthetic=True)).lower()
    assert synthetic_notice(SimpleNamespace(synthetic=False)) == ""


def test_synthetic_notice_is_authored_markdown():
    from analysis.escape import Markdown

    assert isinstance(synthetic_notice(SimpleNamespace(synthetic=True)), Markdown)


def test_an_inline_str_is_fully_escaped_text_in_a_rendered_chapter(tmp_path):
    # install_ipython_text (run by load_report) gives a str a text/markdown form that both
    # engines insert: nothing of it is markup (Quarto's own escape leaves $, @, < and | alone)
    from publishing.render import render

    root = tmp_path / "p"
    (root / "chapters").mkdir(parents=True)
    (root / "_quarto.yml").write_text(
        "book:\n  title: Small\n  output-file: small\n  chapters:\n    - chapters/a.qmd\n")
    (root / "chapters" / "a.qmd").write_text(
        "# A\n\n```{python}\nfrom analysis.escape import Markdown, install_ipython_text\n"
        "install_ipython_text()\nS = '$x^2$ @sec-a <b>b</b> a|b [@k] \\\\'\n```\n\n"
        "Text `{python} S` and `{python} Markdown('*em*')` end.\n")
    render(root, None, "builtin", tmp_path / "out", results=False, progress=lambda *a: None)
    raw = " ".join((tmp_path / "out" / "small.html").read_text(encoding="utf-8").split())
    assert "Text $x^2$ @sec-a &lt;b&gt;b&lt;/b&gt; a|b [@k] \\ and <em>em</em> end." in raw
    assert 'class="math' not in raw


# ------------------------------------------------------------------ the trial's own text


def _text_spec(tmp_path, files: dict[str, str]):
    """A tiny stand-in for a specification: its path and ``text:`` files."""
    (tmp_path / "text").mkdir(exist_ok=True)
    text = {}
    for key, body in files.items():
        (tmp_path / "text" / f"{key}.md").write_text(body, encoding="utf-8")
        text[key] = tmp_path / "text" / f"{key}.md"
    return SimpleNamespace(path=tmp_path / "trial.yaml", text=text,
                           identity=SimpleNamespace(short_name="SMALL"))


def test_trial_text_is_the_file_as_authored_markdown(tmp_path):
    from analysis.escape import Markdown
    from analysis.report import trial_text

    spec = _text_spec(tmp_path, {"introduction": "\n\nWhy *this* trial [@key].\n\n\n"})
    out = trial_text("introduction", spec=spec)
    assert isinstance(out, Markdown) and out == "Why *this* trial [@key].\n"


def test_an_undeclared_text_is_a_visible_placeholder_or_nothing(tmp_path):
    from analysis.report import trial_text

    spec = _text_spec(tmp_path, {})
    assert trial_text("eligibility", spec=spec) == "\\[to be supplied: eligibility\\]"
    assert trial_text("key_messages", spec=spec) == "\\[to be supplied: key\\_messages\\]"
    assert trial_text("blinding", spec=spec, optional=True) == ""


def test_trial_text_refuses_code_and_names_a_missing_file(tmp_path):
    import pytest

    from analysis.report import trial_text

    spec = _text_spec(tmp_path, {"discussion": "In `{python} arm` patients"})
    with pytest.raises(ValueError, match="discussion.md: trial text holds code"):
        trial_text("discussion", spec=spec)
    spec.text["limitations"] = tmp_path / "text" / "gone.md"
    with pytest.raises(FileNotFoundError, match="gone.md not found"):
        trial_text("limitations", spec=spec)


def test_every_declared_text_of_the_shipped_trials_is_plain_markdown():
    # the trials' own text files: they load, and no computed number hides in them
    from analysis.report import trial_text
    from analysis.spec.load import load_spec

    for name in ("respine", "btheb"):
        spec = load_spec(f"trials/{name}/trial.yaml")
        assert {"objective", "introduction", "interventions"} <= set(spec.text)
        for key in spec.text:
            assert trial_text(key, spec=spec).strip(), (name, key)


def test_synthetic_notice_names_the_trial_from_its_specification():
    spec = SimpleNamespace(identity=SimpleNamespace(short_name="SMALL"))
    assert "published SMALL results" in synthetic_notice(SimpleNamespace(synthetic=True,
                                                                          spec=spec))


def test_report_reads_visits_arms_and_contrasts_from_the_specification(tmp_path):
    from analysis.report import visit_label

    spec = SimpleNamespace(primary_visit=8, arms=(SimpleNamespace(label="A", name="Drug A"),
                                                  SimpleNamespace(label="C", name=None)),
                           visit=lambda n: {0: SimpleNamespace(label="Baseline"),
                                            8: SimpleNamespace(label="Month 8")}[n])
    rep = Report(trial=SimpleNamespace(spec=spec, control_arm="C"), store=ResultsStore.empty())
    assert rep.visit_label() == "Month 8" and rep.visit_label(prose=True) == "month 8"
    assert rep.visit_label(0) == "Baseline"
    assert visit_label(spec, 5) == "visit 5"
    assert rep.contrast("A") == "A vs C"
    assert (rep.arm_name("A"), rep.arm_name("C")) == ("Drug A", "C")
