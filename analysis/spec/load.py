"""Reading a trial specification: YAML with line numbers, the JSON Schema, cross-references.

Three layers, each reporting every problem it finds as a :class:`SpecProblem` that names the
file, the key path, the line and the rule:

1. YAML syntax (file, line and column of the parse error);
2. the published schema ``trial.schema.json``, checked with ``jsonschema`` (Draft 2020-12);
   the error's path is mapped to the line of that key through the nodes of ``yaml.compose``;
3. references inside the specification that a schema cannot express (a rule on an
   undeclared endpoint, a primary visit not in the schedule, exactly one control arm, ...).
   These checks are hand-written because they compare values across the document.

The data layer (arms, visits, datasets and columns against an ADaM folder) is in
:mod:`analysis.spec.contract`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from analysis.spec import model as m

SCHEMA_PATH = Path(__file__).with_name("trial.schema.json")


@dataclass(frozen=True)
class SpecProblem:
    """One problem: where (file, key path, line, column) and which rule it breaks."""

    file: str
    path: tuple
    line: int | None
    message: str
    rule: str
    column: int | None = None

    @property
    def key(self) -> str:
        """The key path as text, e.g. ``endpoints[2].rule``."""
        return key_text(self.path)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        key = f" {self.key}:" if self.path else ""
        return f"{where}:{key} {self.message} [{self.rule}]"


class SpecError(Exception):
    """The specification (or the data checked against it) has problems; lists every one."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the trial specification:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def key_text(path) -> str:
    """``("endpoints", 2, "rule") -> "endpoints[2].rule"``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


@lru_cache(maxsize=1)
def schema() -> dict:
    """The published JSON Schema of the specification."""
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


# ----------------------------------------------------------------------------- YAML layer
class Document:
    """A parsed YAML file: the plain data and the composed node tree (for line numbers)."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.file = str(path)
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            line = mark.line + 1 if mark else None
            col = mark.column + 1 if mark else None
            raise SpecError([SpecProblem(self.file, (), line, f"invalid YAML: {problem}",
                                         "yaml", col)]) from None
        if self.data is None:
            self.data = {}

    def node(self, path) -> tuple[yaml.Node | None, yaml.Node | None]:
        """(key node, value node) of the deepest existing element along ``path``."""
        key, node = None, self.root
        for p in path:
            if isinstance(node, yaml.MappingNode):
                hit = next(((k, v) for k, v in node.value if k.value == str(p)), None)
                if hit is None:
                    break
                key, node = hit
            elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) \
                    and p < len(node.value):
                key, node = None, node.value[p]
            else:
                break
        return key, node

    def line(self, path) -> int | None:
        """1-based line of the key at ``path`` (or of the nearest existing parent)."""
        key, node = self.node(path)
        target = key if key is not None else node
        return target.start_mark.line + 1 if target is not None else None

    def problem(self, path, message: str, rule: str) -> SpecProblem:
        return SpecProblem(self.file, tuple(path), self.line(path), message, rule)

    def duplicate_keys(self) -> list[SpecProblem]:
        """Keys given twice in one mapping (YAML keeps the last one silently)."""
        out = []

        def walk(node, path):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for k, v in node.value:
                    if k.value in seen:
                        out.append(SpecProblem(self.file, (*path, k.value),
                                               k.start_mark.line + 1,
                                               f"key {k.value!r} is given twice", "duplicate"))
                    seen.add(k.value)
                    walk(v, (*path, k.value))
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    walk(v, (*path, i))

        walk(self.root, ())
        return out


# --------------------------------------------------------------------------- schema layer
def _schema_message(err) -> tuple[tuple, str]:
    """A readable (path, message) for a jsonschema error."""
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            return (*path, extra[0]), (f"unknown key {extra[0]!r} (allowed: "
                                       f"{', '.join(sorted(allowed))})")
    if err.validator in ("oneOf", "anyOf"):
        subs = err.validator_value
        if all(set(s) == {"required"} for s in subs):
            alts = " | ".join(" + ".join(s["required"]) for s in subs)
            return path, f"needs exactly one of: {alts}"
        from jsonschema.exceptions import best_match

        if err.context:
            return path, best_match(err.context).message
    if err.validator == "enum":
        opts = ", ".join(repr(v) for v in err.validator_value)
        return path, f"{err.instance!r} is not one of {opts}"
    return path, err.message


def schema_problems(doc: Document) -> list[SpecProblem]:
    """Every schema violation of the document, in document order."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    out = []
    for err in validator.iter_errors(doc.data):
        path, message = _schema_message(err)
        out.append(doc.problem(path, message, f"schema: {err.validator}"))
    return sorted(set(out), key=lambda p: (p.line or 0, p.key, p.message))


def _resolve(sch: dict) -> dict:
    ref = sch.get("$ref")
    if ref:
        return schema()["$defs"][ref.rsplit("/", 1)[-1]]
    return sch


def fill_defaults(data, sch: dict | None = None):
    """A copy of ``data`` with the schema's ``default`` values filled in (objects, arrays)."""
    sch = _resolve(schema() if sch is None else sch)
    data = copy.deepcopy(data)
    if isinstance(data, dict):
        for key, sub in sch.get("properties", {}).items():
            sub = _resolve(sub)
            if key not in data and "default" in sub:
                data[key] = copy.deepcopy(sub["default"])
            if key in data:
                data[key] = fill_defaults(data[key], sub)
        extra = sch.get("additionalProperties")
        if isinstance(extra, dict):
            for key in data:
                if key not in sch.get("properties", {}):
                    data[key] = fill_defaults(data[key], extra)
    elif isinstance(data, list) and isinstance(sch.get("items"), dict):
        data = [fill_defaults(x, sch["items"]) for x in data]
    return data


# ------------------------------------------------------------------------ reference layer
def _criteria(node, path):
    """(path, criterion dict) of every endpoint criterion in a condition tree."""
    if not isinstance(node, dict):
        return
    if "endpoint" in node:
        yield path, node
    for op in ("all", "any"):
        for i, sub in enumerate(node.get(op) or []):
            yield from _criteria(sub, (*path, op, i))


def reference_problems(doc: Document, d: dict) -> list[SpecProblem]:
    """Cross-references a schema cannot check (run only on schema-valid data)."""
    p = []
    add = lambda path, msg, rule: p.append(doc.problem(path, msg, rule))  # noqa: E731
    arms = d["arms"]
    controls = [i for i, a in enumerate(arms) if a.get("control")]
    if len(controls) != 1:
        add(("arms",), f"exactly one arm must have control: true ({len(controls)} have)",
            "arms: one control")
    seen = {}
    for i, a in enumerate(arms):
        if a["label"] in seen:
            add(("arms", i, "label"), f"arm label {a['label']!r} repeats arms[{seen[a['label']]}]",
                "arms: unique")
        seen.setdefault(a["label"], i)

    sched = [v["avisitn"] for v in d["visits"]["schedule"]]
    for i, v in enumerate(sched):
        if sched.index(v) != i:
            add(("visits", "schedule", i, "avisitn"), f"visit {v} is scheduled twice",
                "visits: unique")
    for key in ("baseline", "primary"):
        if d["visits"][key] not in sched:
            add(("visits", key), f"{key} visit {d['visits'][key]} is not in visits.schedule "
                                 f"({', '.join(map(str, sched))})", "visits: scheduled")

    pops = set(d["populations"])
    eps = {e["id"]: e for e in d["endpoints"]}
    rules = d.get("responder_rules") or {}
    for i, e in enumerate(d["endpoints"]):
        base = ("endpoints", i)
        first = [x["id"] for x in d["endpoints"]].index(e["id"])
        if first != i:
            add((*base, "id"), f"endpoint id {e['id']!r} repeats endpoints[{first}]",
                "endpoints: unique")
        if e["population"] not in pops:
            add((*base, "population"), f"population {e['population']!r} is not declared in "
                                       f"populations ({', '.join(sorted(pops))})",
                "endpoints: population")
        if "visit" in e and e["visit"] not in sched:
            add((*base, "visit"), f"visit {e['visit']} is not in visits.schedule",
                "endpoints: visit")
        if isinstance(e.get("visits"), list):
            for j, v in enumerate(e["visits"]):
                if v not in sched:
                    add((*base, "visits", j), f"visit {v} is not in visits.schedule",
                        "endpoints: visit")
        if "rule" in e and e["rule"] not in rules:
            add((*base, "rule"), f"responder rule {e['rule']!r} is not declared in "
                                 f"responder_rules", "endpoints: rule")
        if "mcid" in e and e["kind"] not in m.CONTINUOUS_KINDS:
            add((*base, "mcid"), "an MCID needs a continuous endpoint", "endpoints: mcid")

    for rid, rule in rules.items():
        for path, crit in _criteria(rule["condition"], ("responder_rules", rid, "condition")):
            ep = eps.get(crit["endpoint"])
            if ep is None:
                add((*path, "endpoint"), f"rule {rid!r} uses endpoint {crit['endpoint']!r}, "
                                         "which is not declared in endpoints", "rules: endpoint")
            elif ep["kind"] not in m.CONTINUOUS_KINDS:
                add((*path, "endpoint"), f"rule {rid!r} uses endpoint {crit['endpoint']!r} of "
                                         f"kind {ep['kind']}; a criterion needs a continuous "
                                         "endpoint", "rules: endpoint")

    dec = d.get("decision")
    if dec:
        for j, eid in enumerate(dec["endpoints"]):
            if eid not in eps:
                add(("decision", "endpoints", j), f"endpoint {eid!r} is not declared",
                    "decision: endpoint")
    for i, b in enumerate(d.get("baseline_table") or []):
        if "endpoint" in b:
            ep = eps.get(b["endpoint"])
            if ep is None or not ep.get("dataset"):
                add(("baseline_table", i, "endpoint"),
                    f"endpoint {b['endpoint']!r} is not a declared endpoint with a dataset",
                    "baseline_table: endpoint")
    mods = d.get("modules") or {}
    for name in ("immunogenicity", "adverse_events"):
        mod = mods.get(name)
        if mod and mod["population"] not in pops:
            add(("modules", name, "population"),
                f"population {mod['population']!r} is not declared", "modules: population")
    assoc = (mods.get("immunogenicity") or {}).get("association_endpoint")
    if assoc and (assoc not in eps or eps[assoc]["kind"] != "binary_responder"):
        add(("modules", "immunogenicity", "association_endpoint"),
            f"{assoc!r} is not a declared binary_responder endpoint", "modules: endpoint")

    here = doc.path.parent
    for key, rel in (d.get("text") or {}).items():
        if not (here / rel).is_file():
            add(("text", key), f"text file {rel!r} not found (relative to {here})",
                "text: file")
    dict_rel = (d.get("data") or {}).get("dictionary")
    if dict_rel and not (here / dict_rel).is_file():
        add(("data", "dictionary"), f"data dictionary {dict_rel!r} not found (relative to "
                                    f"{here})", "data: dictionary file")
    gen_rel = (d.get("data") or {}).get("generator")
    if gen_rel and not (here / gen_rel).is_file():
        add(("data", "generator"), f"data generator {gen_rel!r} not found (relative to "
                                   f"{here})", "data: generator file")
    if d.get("references") and not (here / d["references"]).is_file():
        add(("references",), f"bibliography {d['references']!r} not found", "references: file")
    return p


# ------------------------------------------------------------------------------ building
def _condition(node) -> m.Criterion | m.Combination:
    if "endpoint" in node:
        imp = node["improvement"]
        return m.Criterion(node["endpoint"], imp.get("absolute"), imp.get("percent"))
    op = "all" if "all" in node else "any"
    return m.Combination(op, tuple(_condition(x) for x in node[op]))


def build(d: dict, path: Path) -> m.TrialSpec:
    """The :class:`~analysis.spec.model.TrialSpec` of schema-valid, default-filled data."""
    here = path.parent
    t = d["trial"]
    identity = m.Identity(
        short_name=t["short_name"], title=t["title"],
        registrations=tuple(m.Registration(r["registry"], str(r["id"]))
                            for r in t.get("registrations", [])),
        design=t.get("design"), phase=t.get("phase"),
        allocation_ratio=t.get("allocation_ratio"),
        planned_sample_size=t.get("planned_sample_size"),
        centres=tuple(t.get("centres", [])), countries=tuple(t.get("countries", [])),
        publication=dict(t.get("publication", {})),
        authors=tuple(m.Author(a["name"], tuple(a.get("affiliations", [])), a.get("email"),
                               a.get("orcid"), a.get("corresponding", False))
                      for a in t.get("authors", [])),
        affiliations={a["id"]: a["name"] for a in t.get("affiliations", [])},
        keywords=tuple(t.get("keywords", [])),
        declarations={k: t.get(k) for k in m.DECLARATIONS},
    )
    ds = d.get("data") or fill_defaults({}, schema()["properties"]["data"])
    data = m.DataSource(folder=(here / ds["folder"]).resolve() if ds.get("folder") else None,
                        synthetic=ds["synthetic"], subject_column=ds["subject_column"],
                        arm_column=ds["arm_column"], actual_arm_column=ds["actual_arm_column"],
                        dictionary=((here / ds["dictionary"]).resolve()
                                    if ds.get("dictionary") else None),
                        generator=((here / ds["generator"]).resolve()
                                   if ds.get("generator") else None))
    arms = [m.Arm(a["label"], a.get("short_label", a["label"]), a.get("name"), a["control"],
                  a.get("order", i)) for i, a in enumerate(d["arms"])]
    arms.sort(key=lambda a: a.order)
    v = d["visits"]
    visits = tuple(m.Visit(x["avisitn"], x["label"], float(x["time"]), v["unit"])
                   for x in v["schedule"])
    pops = {k: m.Population(k, p["flag"], p["value"], p["arm"], p.get("label", k))
            for k, p in d["populations"].items()}
    cov = d.get("covariates") or {}

    def covs(key):
        return tuple(m.Covariate(c["column"], c["type"], c.get("label", c["column"]),
                                 c.get("pool_below")) for c in cov.get(key, []))

    eps = []
    for e in d["endpoints"]:
        rng = e.get("range", {})
        visits_e = e.get("visits", "all")
        eps.append(m.Endpoint(
            id=e["id"], label=e["label"], role=e["role"], kind=e["kind"],
            population=e["population"], short_label=e.get("short_label"), name=e.get("name"),
            description=e.get("description"), dataset=e.get("dataset"),
            paramcd=e.get("paramcd"), unit=e.get("unit"),
            range=(rng.get("min"), rng.get("max")), direction=e.get("direction"),
            mcid=(e.get("mcid") or {}).get("value"),
            mcid_source=(e.get("mcid") or {}).get("source"), visit=e.get("visit"),
            visits=tuple(visits_e) if isinstance(visits_e, list) else visits_e,
            rule=e.get("rule"), time_unit=e.get("time_unit"), missed_visit=e["missed_visit"],
            sensitivity=dict(e.get("sensitivity", {}))))
    rules = {rid: m.ResponderRule(rid, _condition(r["condition"]), r.get("label"),
                                  r.get("description"))
             for rid, r in (d.get("responder_rules") or {}).items()}
    dec = d.get("decision")
    decision = (m.Decision(tuple(dec["endpoints"]), dec["rule"], dec["alpha"], dec["sided"],
                           dec.get("multiplicity")) if dec else None)
    by_id = {e.id: e for e in eps}
    table = []
    for b in d.get("baseline_table", []):
        ep = by_id.get(b.get("endpoint"))
        label = b.get("label") or (ep.label if ep else b.get("column"))
        unit = b.get("unit") or (ep.unit if ep else None)
        table.append(m.BaselineVariable(
            type=b["type"], label=label, column=b.get("column"), endpoint=b.get("endpoint"),
            unit=unit, decimals=b["decimals"], levels=tuple(str(x) for x in b.get("levels", [])),
            value_labels={str(k): v for k, v in (b.get("value_labels") or {}).items()}))
    mm = d.get("mmrm") or fill_defaults({}, schema()["properties"]["mmrm"])
    return m.TrialSpec(
        path=path.resolve(), identity=identity, data=data, arms=tuple(arms), visits=visits,
        baseline_visit=v["baseline"], primary_visit=v["primary"], populations=pops,
        adjustment=covs("adjustment"), stratification=covs("stratification"),
        endpoints=tuple(eps), rules=rules, decision=decision, baseline_table=tuple(table),
        modules=dict(d.get("modules") or {}),
        mmrm=m.MMRMOptions(mm["covariance"], mm["df"], mm["lsmeans"], mm["covariates_by_visit"]),
        text={k: (here / p).resolve() for k, p in (d.get("text") or {}).items()},
        references=(here / d["references"]).resolve() if d.get("references") else None,
        raw=d)


def read_document(path: str | Path) -> Document:
    """Parse ``path`` (raises :class:`SpecError` for a missing file or invalid YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecProblem(str(path), (), None, f"cannot read: {exc.strerror}",
                                     "file")]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([SpecProblem(str(path), (), None, f"not UTF-8 text (byte "
                                                         f"{exc.start})", "file")]) from None
    return Document(path, text)


def load_spec(path: str | Path) -> m.TrialSpec:
    """Read, validate (YAML, schema, references) and build a trial specification.

    Raises
    ------
    SpecError
        Listing every problem (file, key path, line, rule).
    """
    doc = read_document(path)
    problems = doc.duplicate_keys()
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "the specification must be a mapping of keys",
                                    "schema: type"))
        raise SpecError(problems)
    problems += schema_problems(doc)
    if problems:
        raise SpecError(problems)
    data = fill_defaults(doc.data)
    problems = reference_problems(doc, data)
    if problems:
        raise SpecError(problems)
    return build(data, Path(path))
