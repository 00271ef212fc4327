"""The reference page of the trial specification, generated from the published schema.

``python -m analysis.spec docs > docs/trial-spec.md`` regenerates the page; a test keeps the
committed page equal to this output, so every key of the schema is documented.
"""

from __future__ import annotations

import json
import re

from analysis.spec.load import schema

INTRO = """# Trial specification reference

One file per trial, `trials/<name>/trial.yaml`, declares everything trial-specific: identity,
arms, visits, populations, covariates, endpoints, responder rules, the decision rule, the
baseline table, optional modules, model options and the trial's own text. It is validated
against the JSON Schema `analysis/spec/trial.schema.json` (Draft 2020-12, with `jsonschema`),
then for references between its keys, then against the data folder:

```sh
python -m analysis.spec check trials/<name>/trial.yaml [--data DIR]
```

Every problem is reported as `file:line: key.path: message [rule]` and the command exits 1.
Examples: every `trials/*/trial.yaml` (one with synthetic data, one public trial) and
`tests/fixtures/three_arm/trial.yaml` (three arms).

The data contract follows from the specification and CDISC ADaM conventions
(`analysis/spec/contract.py`): ADSL (one row per subject: subject, arm, population flags,
covariates, baseline-table columns); BDS datasets of endpoints (`PARAMCD`, `AVISITN`, `AVAL`,
and `BASE`, `CHG` for continuous endpoints; `ABLFL` when present); ADTTE (`PARAMCD`, `AVAL`,
`CNSR`); ADAE (`AEBODSYS`, `AEDECOD`, the treatment-emergent and serious flags and a
relatedness column). A dataset is a file named after it (`adsl.csv`, `ADQS.xpt`, ...).
Columns a trial lacks are optional unless an endpoint or module needs them; extra columns and
datasets are allowed. A module runs only when declared and its dataset is present.

Responder rules: a criterion tests one endpoint's improvement from baseline (baseline minus
value when lower is better, value minus baseline when higher is better) against `absolute`
and/or `percent` thresholds (all given must hold); `all` and `any` combine nested conditions
with three-valued logic (a missing value is not evaluable unless the other terms decide).

In the tables, `[]` marks the items of a list and `<id>` a key chosen by the trial.
"""


def _resolve(s: dict) -> tuple[dict, str | None]:
    ref = s.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return schema()["$defs"][name], name
    return s, None


def _type(s: dict) -> str:
    s, _ = _resolve(s)
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "enum" in s:
        return " \\| ".join(f"`{v}`" for v in s["enum"])
    if "oneOf" in s and "type" not in s:
        return " or ".join(_type(x) for x in s["oneOf"])
    t = s.get("type", "")
    if t == "array":
        return f"list of {_type(s.get('items', {})) or 'values'}"
    if isinstance(t, list):
        return " or ".join(t)
    return t


def properties(sch: dict | None = None, prefix: str = "", stack: tuple = ()):
    """Yield ``(path, schema, required)`` for every property of the schema, depth first."""
    sch, name = _resolve(schema() if sch is None else sch)
    if name in stack:
        return
    stack = (*stack, name) if name else stack
    required = set(sch.get("required", []))
    for key, sub in sch.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        yield path, sub, key in required
        yield from _children(sub, path, stack)
    extra = sch.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("$ref"):
        path = f"{prefix}.<id>"
        yield path, extra, False
        yield from properties(extra, path, stack)


def _children(sub: dict, path: str, stack: tuple):
    s, name = _resolve(sub)
    if name in stack:
        return
    if s.get("type") == "object" or "properties" in s:
        yield from properties(sub, path, stack)
    elif s.get("type") == "array" and isinstance(s.get("items"), dict):
        yield from properties(s["items"], f"{path}[]", stack)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def reference_page() -> str:
    """The Markdown reference page (``docs/trial-spec.md``)."""
    out = [INTRO]
    top = schema()["properties"]
    req_top = set(schema()["required"])
    for key, sub in top.items():
        s, _ = _resolve(sub)
        out.append(f"\n## `{key}`{' (required)' if key in req_top else ''}\n")
        out.append(_cell(s.get("description", "")) + "\n")
        rows = [(p, x, r) for p, x, r in properties({"properties": {key: sub}})][1:]
        if not rows:
            out.append(f"\nType: {_type(sub)}.\n")
            continue
        out.append("\n| key | type | required | default | meaning |\n|---|---|---|---|---|")
        for path, x, req in rows:
            xs, _ = _resolve(x)
            default = f"`{json.dumps(xs['default'], ensure_ascii=False)}`" \
                if "default" in xs else ""
            out.append(f"| `{path}` | {_type(x)} | {'yes' if req else ''} | {default} | "
                       f"{_cell(xs.get('description', ''))} |")
        out.append("")
    cond = [("endpoints[]", "if `kind` is `repeated_continuous` or `single_visit_continuous`: "
             "`dataset`, `paramcd` and `direction` are required; `single_visit_continuous` "
             "also needs `visit`; `binary_responder` needs `rule`; `time_to_event` needs "
             "either `dataset` + `paramcd` (ADTTE) or `rule` (derived: first visit meeting "
             "the rule)."),
            ("responder_rules.<id>.condition", "exactly one of `all`, `any`, or `endpoint` + "
             "`improvement`; `all`/`any` hold nested conditions of the same form."),
            ("baseline_table[]", "exactly one of `column` (ADSL) or `endpoint` (the "
             "endpoint's baseline value).")]
    out.append("\n## Conditional requirements\n")
    out += [f"- `{k}`: {v}" for k, v in cond]
    out.append("\n## Cross-checks after the schema\n")
    out += ["- exactly one arm has `control: true`; arm labels, visit numbers and endpoint ids "
            "are unique;",
            "- `visits.baseline`, `visits.primary` and every endpoint `visit`/`visits` are in "
            "`visits.schedule`;",
            "- every `population`, `rule`, decision endpoint, baseline-table endpoint and rule "
            "criterion endpoint is declared (a criterion needs a continuous endpoint);",
            "- `text` files and `references` exist (relative to the specification);",
            "- with data: every arm label occurs in the ADSL arm column and no undeclared arm "
            "does; every scheduled visit occurs in an endpoint dataset; every endpoint's "
            "dataset, `PARAMCD`, visits and range, every population flag, covariate and "
            "baseline-table column, and every active module's dataset and columns are "
            "present."]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"
