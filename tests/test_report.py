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
