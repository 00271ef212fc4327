"""No trial-specific words in the generator: names, arms, parameters, visits, covariates.

Issue 11: what is trial-specific lives in ``trials/<name>/`` (specification, dictionary,
narrative text, synthetic-data generator); the statistics, families, displays, chapters,
article, supplement and publishing engine read it from there and must not name RESPINE's
arms, parameters, instruments, visits or covariates. Tests may (they check RESPINE's values).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: RESPINE-specific words (trial name, arms, parameters, instruments, visit, covariate).
WORDS = {
    "trial name": r"respine",
    "arm": r"BM-MSC|\bMSCs?\b|\bsham\b",
    "parameter": r"\bVAS\b|\bODI\b|SF-?36|\bPCS\b|\bMCS\b|\bT2\b|\bHLA(?:I|II)?\b|\bDSA\b",
    "instrument": r"\bMRI\b|Pfirrmann|Modic|Oswestry|Schizas",
    "condition": r"intradiscal|low back pain|\bdiscs?\b",
    "visit": r"month[- ]?12\b|_m12\b|\bM12\b",
    "covariate": r"\bCOUNTRY\b",
}
PATTERN = re.compile("|".join(f"(?:{p})" for p in WORDS.values()), re.IGNORECASE)
SUFFIXES = {".py", ".qmd", ".md", ".yaml", ".yml", ".json"}


def hits(folders, exclude=()) -> list[str]:
    """``path:line: word`` for every trial-specific word in the files under ``folders``."""
    out = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            if any(path.is_relative_to(ROOT / e) for e in exclude):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                out += [f"{path.relative_to(ROOT)}:{n}: {m.group(0)}"
                        for m in PATTERN.finditer(line)]
    return out


def test_the_pattern_finds_the_words():
    samples = ["RESPINE trial", "BM-MSC vs Sham", "pain VAS", "ODI (%)", "SF-36 PCS", "MRI T2",
               "Pfirrmann grade", "at month 12", "responder_m12", "by COUNTRY"]
    assert all(PATTERN.search(s) for s in samples)
    assert not PATTERN.search("experimental arm vs control at the primary visit")


def test_specification_layer_is_trial_free():
    found = hits(["analysis/spec"])
    assert found == [], "\n".join(found)


GENERATOR = ["analysis", "chapters", "article", "supplement", "publishing"]


def test_generator_is_trial_free():
    found = hits(GENERATOR) + [f"{f}: {m.group(0)}" for f in ("index.qmd", "_quarto.yml")
                               for m in PATTERN.finditer((ROOT / f).read_text(encoding="utf-8"))]
    assert found == [], f"{len(found)} trial-specific words:\n" + "\n".join(found[:200])
