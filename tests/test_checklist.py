"""CONSORT 2025 checklist: reference data, and places read from anchors in a small book."""

from __future__ import annotations

import textwrap

import pytest

from publishing import checklist as cl

QUARTO = """\
project: {type: book, output-dir: _out}
book:
  title: "Demo randomised trial"
  chapters:
    - index.qmd
    - ch/one.qmd
  appendices:
    - ch/app.qmd
"""
INDEX = "# Abstract {.unnumbered consort=\"1b\"}\n\nText.\n"
ONE = '''\
# Methods {#sec-methods}

## Trial design {#sec-design consort="9 11"}

Text `{python} 1+1`.

## Participants

::: {consort="12a"}
Eligible were...
:::

```{python}
#| include: false
x = 1
```

```{python}
#| label: tbl-one
#| tbl-cap: "One"
print(1)
```

::: {consort="25 22a"}
```{python}
#| label: fig-flow
#| fig-cap: "Flow"
print(2)
```

```{python}
#| label: tbl-base
#| tbl-cap: "Base"
print(3)
```
:::
'''
APP = '''\
# Extra {#sec-extra}

## Data {consort="4"}

```{python}
#| label: tbl-app
#| tbl-cap: "A"
print(1)
```
'''


@pytest.fixture
def book(tmp_path):
    (tmp_path / "ch").mkdir()
    (tmp_path / "_quarto.yml").write_text(QUARTO)
    (tmp_path / "index.qmd").write_text(INDEX)
    (tmp_path / "ch" / "one.qmd").write_text(ONE)
    (tmp_path / "ch" / "app.qmd").write_text(APP)
    return tmp_path


def test_reference_items_are_consort_2025():
    df = cl.items()
    assert len(df) == 42 and df["Item"].is_unique
    assert df["Item"].tolist()[:3] == ["1a", "1b", "2"] and df["Item"].iloc[-1] == "30"
    assert set(df["Section"]) == {"Title and abstract", "Open science", "Introduction",
                                  "Methods", "Results", "Discussion"}
    row = df.set_index("Item").loc["8"]
    assert row["Topic"] == "Patient and public involvement"


def test_places_from_anchors(book):
    df = cl.checklist(book).set_index("Item")
    where = df["Addressed in"].to_dict()
    assert where["1b"] == "Abstract"  # unnumbered chapter: its title
    assert where["9"] == where["11"] == "Section 1.1 Trial design"
    assert where["12a"] == "Section 1.2 Participants"  # a div without floats: its section
    # tbl-one is Table 1.1 (the include: false cell is not a float); the div holds two floats
    assert where["25"] == where["22a"] == "Figure 1.1; Table 1.2"
    assert where["4"] == "Section A.1 Data"  # appendix numbering
    assert df.loc["1a", "Status"] == cl.NOT_ADDRESSED == where["1a"]
    assert len(cl.unaddressed(df.reset_index())) == 42 - 7
    assert list(cl.display_table(df.reset_index()).columns) == ["Item", "Topic", "Addressed in"]


def test_unknown_item_is_an_error(book):
    (book / "ch" / "app.qmd").write_text(textwrap.dedent(APP).replace('"4"', '"99z"'))
    with pytest.raises(ValueError, match="99z"):
        cl.checklist(book)
