"""A corpus of corrupted copies of the shipped data (``data/synthetic``), for tests/test_corpus.py.

Each :class:`Case` edits a fresh copy of the data folder and says what validation must report:
``expect`` is ``None`` for an accepted folder, else the rule and where (file, column, and the
row or line the message must name). Build one with :func:`make`; list them with ``CASES``.

``python tests/corpus.py DIR`` writes every case into ``DIR/<case name>/`` (to try them by hand,
e.g. ``python -m analysis validate DIR/latin1_file``).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SOURCE = Path(__file__).resolve().parents[1] / "data" / "synthetic"
TABLES = ("screening", "adsl", "adqs", "admri", "adimm", "adae")


@dataclass(frozen=True)
class Expect:
    """A problem validation must report: ``where`` is a substring of its rows/line field."""

    rule: str
    file: str
    column: str = ""
    where: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    expect: Expect | None  # None: the folder is accepted
    note: str = ""         # accepted with this note line in the validate output


# ---------------------------------------------------------------------------- helpers


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, name: str, df: pd.DataFrame) -> None:
    df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def edit(name: str, row: int, col: str, value: str) -> Callable[[Path], None]:
    """Set one cell; ``row`` is the 1-based data row (as in validation messages)."""
    def build(folder: Path) -> None:
        df = read(folder, name)
        df.loc[row - 1, col] = value
        write(folder, name, df)
    return build


def add_column(name: str, col: str, value: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        df = read(folder, name)
        df[col] = value
        write(folder, name, df)
    return build


def yaml_text(text: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / "dataset.yaml").write_text(text, encoding="utf-8")
    return build


def yaml_set(key: str, value: str) -> Callable[[Path], None]:
    """Replace (or append) one top-level ``key: value`` line of dataset.yaml."""
    def build(folder: Path) -> None:
        p = folder / "dataset.yaml"
        lines = [ln for ln in p.read_text(encoding="utf-8").splitlines()
                 if not ln.startswith(f"{key}:")]
        p.write_text("\n".join(lines + [f"{key}: {value}"]) + "\n", encoding="utf-8")
    return build


def keep_subjects(select: Callable[[pd.DataFrame], pd.Series]) -> Callable[[Path], None]:
    """Keep the adsl rows where ``select(adsl)`` is true, and only their rows elsewhere."""
    def build(folder: Path) -> None:
        adsl = read(folder, "adsl")
        keep = set(adsl.loc[select(adsl), "USUBJID"])
        for name in TABLES:
            df = read(folder, name)
            ok = df["USUBJID"].isin(keep) | ((df["USUBJID"] == "") if name == "screening"
                                             else False)
            write(folder, name, df[ok])
        yaml_set("n_randomised", str(len(keep)))(folder)
    return build


def first_per_arm(k: int):
    return keep_subjects(lambda a: a.groupby("TRT01P").cumcount() < k)


def one_arm(folder: Path) -> None:
    """Everybody randomised (and treated) in the first arm found."""
    adsl = read(folder, "adsl")
    arm = adsl.loc[0, "TRT01P"]
    adsl["TRT01P"] = arm
    adsl.loc[adsl["TRT01A"] != "", "TRT01A"] = arm
    write(folder, "adsl", adsl)


def untreated_arm(keep: int):
    """All but ``keep`` subjects of the second arm untreated (SAFFL N, no TRTSDT/TRT01A)."""
    def build(folder: Path) -> None:
        adsl = read(folder, "adsl")
        arm = sorted(adsl["TRT01P"].unique())[-1]
        idx = adsl.index[adsl["TRT01P"] == arm][keep:]
        adsl.loc[idx, ["SAFFL", "TRTSDT", "TRT01A", "PPROTFL"]] = ["N", "", "", "N"]
        adsl.loc[idx, "NTRTREAS"] = "Other"
        adsl.loc[idx, "PPEXREAS"] = "Not treated"
        write(folder, "adsl", adsl)
    return build


def few_per_protocol(keep: int):
    def build(folder: Path) -> None:
        adsl = read(folder, "adsl")
        arm = sorted(adsl["TRT01P"].unique())[-1]
        idx = adsl.index[(adsl["TRT01P"] == arm) & (adsl["PPROTFL"] == "Y")][keep:]
        adsl.loc[idx, "PPROTFL"] = "N"
        adsl.loc[idx, "PPEXREAS"] = "Major protocol deviation"
        write(folder, "adsl", adsl)
    return build


def drop_visit(visit: str, params=("VAS", "ODI"), keep: int = 0, dataset: str = "adqs"):
    """Remove the ``params`` rows at ``visit``, except for the first ``keep`` subjects per arm."""
    def build(folder: Path) -> None:
        q, adsl = read(folder, dataset), read(folder, "adsl")
        at = q.loc[(q["AVISITN"] == visit) & (q["PARAMCD"] == params[0]), "USUBJID"]
        arm = adsl.set_index("USUBJID")["TRT01P"]
        spared = set(at.groupby(at.map(arm)).head(keep))
        hit = (q["AVISITN"] == visit) & q["PARAMCD"].isin(params) & ~q["USUBJID"].isin(spared)
        write(folder, dataset, q[~hit])
    return build


def header_only(name: str):
    def build(folder: Path) -> None:
        write(folder, name, read(folder, name).iloc[0:0])
    return build


def raw_bytes(name: str, transform: Callable[[bytes], bytes]):
    def build(folder: Path) -> None:
        p = folder / f"{name}.csv"
        p.write_bytes(transform(p.read_bytes()))
    return build


def latin1_term(folder: Path) -> None:
    """adae.csv re-saved as Windows-1252, with an accented term on data row 3."""
    df = read(folder, "adae")
    df.loc[2, "AETERM"] = "Douleur lombaire sévère"
    (folder / "adae.csv").write_bytes(df.to_csv(index=False, lineterminator="\n")
                                      .encode("cp1252"))


def duplicate_row(name: str, row: int):
    def build(folder: Path) -> None:
        df = read(folder, name)
        write(folder, name, pd.concat([df, df.iloc[[row - 1]]], ignore_index=True))
    return build


def drop_row(name: str, where: Callable[[pd.DataFrame], pd.Series]):
    def build(folder: Path) -> None:
        df = read(folder, name)
        write(folder, name, df[~where(df)])
    return build


def extra_dataset(folder: Path) -> None:
    pd.DataFrame({"USUBJID": ["RESPINE-01-001"], "CMTRT": ["Paracetamol"]}).to_csv(
        folder / "adcm.csv", index=False, lineterminator="\n")


def both(*builds):
    def build(folder: Path) -> None:
        for b in builds:
            b(folder)
    return build


def _first_baseline_vas(q: pd.DataFrame) -> pd.Series:
    hit = (q["PARAMCD"] == "VAS") & (q["AVISITN"] == "0")
    return hit & (q["USUBJID"] == q.loc[hit, "USUBJID"].iloc[0])


# ---------------------------------------------------------------------------- the corpus

VALID_YAML_HEAD = "name: RESPINE synthetic dataset\nsynthetic: true\n"

CASES: list[Case] = [
    # classic contract violations
    Case("missing_column", lambda f: write(f, "adsl", read(f, "adsl").drop(columns="AGE")),
         Expect("column-present", "adsl.csv", "AGE")),
    Case("wrong_type", edit("adsl", 3, "AGE", "thirty"),
         Expect("type", "adsl.csv", "AGE", "row 3")),
    Case("out_of_range", edit("adsl", 5, "AGE", "75"),
         Expect("range", "adsl.csv", "AGE", "row 5")),
    Case("missing_value", edit("adsl", 7, "SEX", ""),
         Expect("missing-value", "adsl.csv", "SEX", "row 7")),
    Case("allowed_value", edit("adsl", 8, "SEX", "X"),
         Expect("allowed-values", "adsl.csv", "SEX", "row 8")),
    Case("flag_type", edit("adae", 2, "AESER", "yes"),
         Expect("type", "adae.csv", "AESER", "row 2")),
    Case("duplicate_key", duplicate_row("adae", 2),
         Expect("unique-key", "adae.csv", "USUBJID+AESEQ", "rows 2, 159")),
    Case("orphan_rows", edit("adae", 1, "USUBJID", "RESPINE-99-999"),
         Expect("known-subject", "adae.csv", "USUBJID", "row 1")),
    Case("bad_date", edit("adqs", 4, "ADT", "2019-13-45"),
         Expect("type", "adqs.csv", "ADT", "row 4")),
    Case("date_format", edit("adqs", 6, "ADT", "12/01/2019"),
         Expect("type", "adqs.csv", "ADT", "row 6")),
    Case("missing_file", lambda f: (f / "admri.csv").unlink(), Expect("file-present", "admri.")),
    Case("duplicate_format", lambda f: read(f, "adae").to_parquet(f / "adae.parquet"),
         Expect("duplicate-format", "adae.csv")),
    Case("wrong_arm_label", edit("adsl", 2, "TRT01P", "Placebo"),
         Expect("allowed-arm", "adsl.csv", "TRT01P", "row 2")),
    Case("wrong_visit_label", edit("adqs", 3, "AVISIT", "Month 99"),
         Expect("allowed-visit", "adqs.csv", "AVISIT", "row 3")),
    Case("visit_mismatch", edit("adqs", 3, "AVISIT", "Month 24"),
         Expect("allowed-visit", "adqs.csv", "AVISIT", "row 3")),
    Case("treated_before_randomised", edit("adsl", 4, "TRTSDT", "2000-01-01"),
         Expect("date-order", "adsl.csv", "TRTSDT", "row 4")),
    Case("wrong_study_day", edit("adqs", 6, "ADY", "999"),
         Expect("study-day", "adqs.csv", "ADY", "row 6")),
    Case("wrong_change", edit("adqs", 7, "CHG", "55"),
         Expect("base-chg", "adqs.csv", "CHG", "row 7")),
    Case("wrong_positivity_flag", edit("adimm", 1, "POSFL", "Y"),
         Expect("positivity-flag", "adimm.csv", "POSFL", "row 1")),
    Case("population_flag", edit("adsl", 1, "TRTSDT", ""),
         Expect("population", "adsl.csv", "SAFFL", "row 1")),
    Case("disposition", edit("adsl", 1, "DCSREAS", "Other"),
         Expect("disposition", "adsl.csv", "DCSREAS", "row 1")),
    Case("baseline_missing", drop_row("adqs", _first_baseline_vas),
         Expect("baseline-present", "adqs.csv", "AVISITN", "subject RESPINE-01-001")),
    Case("malformed_csv", raw_bytes("adae", lambda b: b.replace(b"\n", b",extra,cells\n", 5)
                                    .replace(b",extra,cells\n", b"\n", 4)),
         Expect("readable", "adae.csv", "", "line 5")),
    # file encodings and shapes
    Case("latin1_file", latin1_term, Expect("encoding", "adae.csv", "AETERM", "line 4")),
    Case("utf8_bom", raw_bytes("adsl", lambda b: b"\xef\xbb\xbf" + b), None),
    Case("crlf_line_ends", raw_bytes("adqs", lambda b: b.replace(b"\n", b"\r\n")), None),
    Case("bom_and_crlf", raw_bytes("adae", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
         None),
    Case("empty_file", raw_bytes("adae", lambda b: b""),
         Expect("empty-file", "adae.csv", "", "line 1")),
    Case("header_only_adsl", header_only("adsl"), Expect("empty-dataset", "adsl.csv")),
    Case("header_only_adqs", header_only("adqs"), Expect("empty-dataset", "adqs.csv")),
    Case("no_adverse_events", header_only("adae"), None),
    Case("padded_cells", raw_bytes("adsl", lambda b: b.replace(b",Sham,", b", Sham ,", 3)), None),
    # identifiers
    Case("identifier_tel_mobile", add_column("adsl", "TEL_MOBILE", "0600000000"),
         Expect("direct-identifier", "adsl.csv", "TEL_MOBILE")),
    Case("identifier_patient_name", add_column("adsl", "PATIENT_NAME", "Jean Dupont"),
         Expect("direct-identifier", "adsl.csv", "PATIENT_NAME")),
    Case("identifier_emailaddr", add_column("adae", "EMAILADDR", "a@b.org"),
         Expect("direct-identifier", "adae.csv", "EMAILADDR")),
    Case("identifier_dob_dt", add_column("adsl", "DOB_DT", "1970-01-01"),
         Expect("direct-identifier", "adsl.csv", "DOB_DT")),
    Case("identifier_brthdtc", add_column("adsl", "BRTHDTC", "1970-01-01"),
         Expect("direct-identifier", "adsl.csv", "BRTHDTC")),
    Case("legitimate_site_name", add_column("adsl", "SITE_NAME", "Montpellier"), None),
    # dataset.yaml
    Case("yaml_unclosed_bracket", yaml_text(VALID_YAML_HEAD + "description: [unclosed\n"),
         Expect("yaml-syntax", "dataset.yaml", "", "line 4")),
    Case("yaml_bad_mapping", yaml_text(VALID_YAML_HEAD + "description: a: b\n"),
         Expect("yaml-syntax", "dataset.yaml", "", "line 3, column 15")),
    Case("yaml_tab_indent", yaml_text(VALID_YAML_HEAD + "seed:\n\t1\n"),
         Expect("yaml-syntax", "dataset.yaml", "", "line 4")),
    Case("yaml_wrong_type", yaml_set("synthetic", "maybe"),
         Expect("dataset-yaml", "dataset.yaml", "synthetic", "line 9")),
    Case("yaml_unknown_key", yaml_set("synthethic", "true"),
         Expect("dataset-yaml", "dataset.yaml", "synthethic", "line 10")),
    Case("yaml_bad_cutoff", yaml_set("cutoff", "31/12/2024"),
         Expect("dataset-yaml", "dataset.yaml", "cutoff", "line 9")),
    Case("yaml_not_a_mapping", yaml_text("- RESPINE\n- synthetic\n"),
         Expect("dataset-yaml", "dataset.yaml", "", "line 1")),
    Case("yaml_count_mismatch", yaml_set("n_randomised", "113"),
         Expect("dataset-yaml", "dataset.yaml", "n_randomised")),
    Case("yaml_not_utf8", lambda f: (f / "dataset.yaml").write_bytes(
        VALID_YAML_HEAD.encode() + "description: Donn\u00e9es\n".encode("cp1252")),
         Expect("encoding", "dataset.yaml", "", "line 3")),
    Case("no_dataset_yaml", lambda f: (f / "dataset.yaml").unlink(), None),
    # dates
    Case("future_date", edit("adae", 1, "ASTDT", "2099-01-01"),
         Expect("future-date", "adae.csv", "ASTDT", "row 1")),
    Case("after_cutoff", yaml_set("cutoff", "2024-06-30"),
         Expect("after-cutoff", "adqs.csv", "ADT", "row")),
    Case("cutoff_in_future_ok", yaml_set("cutoff", "2025-06-30"), None),
    # degenerate designs (the report could not be estimated)
    Case("one_arm", one_arm, Expect("arm-size", "adsl.csv", "TRT01P", "all 114 rows")),
    Case("one_row_adsl", keep_subjects(lambda a: a.index == 0),
         Expect("arm-size", "adsl.csv", "TRT01P", "row 1")),
    Case("too_few_per_arm", first_per_arm(9), Expect("arm-size", "adsl.csv", "TRT01P", "row")),
    Case("enough_per_arm", first_per_arm(10), None),
    Case("no_one_treated", untreated_arm(0), Expect("arm-treated", "adsl.csv", "SAFFL", "row")),
    Case("few_per_protocol", few_per_protocol(4),
         Expect("arm-per-protocol", "adsl.csv", "PPROTFL", "row")),
    Case("nobody_at_primary_visit", drop_visit("12"),
         Expect("primary-visit", "adqs.csv", "AVISITN", "no row with AVISITN 12 for VAS or ODI")),
    Case("no_mri_at_primary_visit", drop_row("admri", lambda m: m["AVISITN"] == "12"),
         Expect("primary-visit", "admri.csv", "AVISITN", "no row with AVISITN 12 for T2")),
    Case("few_at_primary_visit", drop_visit("12", keep=4),
         Expect("primary-visit", "adqs.csv", "AVISITN", "rows")),
    # exactly the minimum data (minimum_data in the dictionary): accepted, and must render
    Case("treated_minimum", untreated_arm(5), None),
    Case("per_protocol_minimum", few_per_protocol(5), None),
    Case("primary_visit_minimum", drop_visit("12", keep=5), None),
    Case("mri_minimum", drop_visit("12", ("T2",), keep=5, dataset="admri"), None),
    # accepted oddities
    Case("unknown_extra_dataset", extra_dataset, None,
         note="note: adcm.csv is not a dataset of the data contract"),
    Case("hostile_text", edit("adae", 1, "AETERM", "<script>alert(1)</script> **x** $x^2$"),
         None),
]


def make(case: Case, dest: Path) -> Path:
    """A fresh copy of the shipped data at ``dest`` with ``case`` applied."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SOURCE, dest)
    case.build(dest)
    return dest


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for c in CASES:
        make(c, root / c.name)
    print(f"{len(CASES)} cases written to {root}")
