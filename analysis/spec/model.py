"""The trial specification as frozen dataclasses (built by :func:`analysis.spec.load.load_spec`).

Every class mirrors one object of the published schema (``trial.schema.json``); defaults come
from the schema, filled in before the model is built. Nothing here knows a particular trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CONTINUOUS_KINDS = ("repeated_continuous", "single_visit_continuous")
#: Declarations the article needs; an absent one becomes a visible placeholder.
DECLARATIONS = ("funding", "competing_interests", "ethics", "data_sharing",
                "patient_public_involvement", "protocol", "sap")


@dataclass(frozen=True)
class Registration:
    registry: str
    id: str


@dataclass(frozen=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()
    email: str | None = None
    orcid: str | None = None
    corresponding: bool = False


@dataclass(frozen=True)
class Identity:
    """Who and what the trial is; optional lines are ``None`` (or empty) when not declared."""

    short_name: str
    title: str
    registrations: tuple[Registration, ...] = ()
    design: str | None = None
    phase: str | None = None
    allocation_ratio: str | None = None
    planned_sample_size: int | None = None
    centres: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    publication: dict = field(default_factory=dict)
    authors: tuple[Author, ...] = ()
    affiliations: dict[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    declarations: dict[str, str | None] = field(default_factory=dict)

    @property
    def corresponding_author(self) -> Author | None:
        return next((a for a in self.authors if a.corresponding), None)


@dataclass(frozen=True)
class DataSource:
    folder: Path | None
    synthetic: bool
    subject_column: str
    arm_column: str
    actual_arm_column: str
    dictionary: Path | None = None  # the trial's own data dictionary (data.dictionary)
    generator: Path | None = None  # synthetic-data generator module (data.generator)


@dataclass(frozen=True)
class Arm:
    label: str
    short_label: str
    name: str | None
    control: bool
    order: int


@dataclass(frozen=True)
class Visit:
    avisitn: int
    label: str
    time: float
    unit: str


@dataclass(frozen=True)
class Population:
    id: str
    flag: str
    value: str
    arm: str  # "planned" | "actual"
    label: str


@dataclass(frozen=True)
class Covariate:
    column: str
    type: str
    label: str
    pool_below: int | None = None


@dataclass(frozen=True)
class Criterion:
    """Improvement from baseline of one endpoint reaches every given threshold."""

    endpoint: str
    absolute: float | None = None
    percent: float | None = None


@dataclass(frozen=True)
class Combination:
    """``all`` or ``any`` of nested conditions."""

    op: str  # "all" | "any"
    terms: tuple[Criterion | Combination, ...]


@dataclass(frozen=True)
class ResponderRule:
    id: str
    condition: Criterion | Combination
    label: str | None = None
    description: str | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Endpoint ids used by the rule, in first-use order."""
        return tuple(dict.fromkeys(_criteria_endpoints(self.condition)))


def _criteria_endpoints(node):
    if isinstance(node, Criterion):
        yield node.endpoint
    else:
        for t in node.terms:
            yield from _criteria_endpoints(t)


@dataclass(frozen=True)
class Endpoint:
    id: str
    label: str
    role: str
    kind: str
    population: str = "itt"
    short_label: str | None = None
    name: str | None = None
    description: str | None = None
    dataset: str | None = None
    paramcd: str | None = None
    unit: str | None = None
    range: tuple[float | None, float | None] = (None, None)
    direction: str | None = None
    mcid: float | None = None
    mcid_source: str | None = None
    visit: int | None = None
    visits: tuple[int, ...] | str = "all"
    rule: str | None = None
    time_unit: str | None = None
    missed_visit: str = "censor"
    sensitivity: dict = field(default_factory=dict)

    @property
    def continuous(self) -> bool:
        return self.kind in CONTINUOUS_KINDS

    @property
    def derived(self) -> bool:
        """A time-to-event endpoint derived from a responder rule (no ADTTE dataset)."""
        return self.kind == "time_to_event" and self.dataset is None

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better (improvement = sign x change)."""
        return 1 if self.direction == "higher_is_better" else -1


@dataclass(frozen=True)
class Decision:
    endpoints: tuple[str, ...]
    rule: str
    alpha: float
    sided: str
    multiplicity: str | None


@dataclass(frozen=True)
class BaselineVariable:
    type: str
    label: str
    column: str | None = None
    endpoint: str | None = None
    unit: str | None = None
    decimals: int = 1
    levels: tuple[str, ...] = ()
    value_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MMRMOptions:
    covariance: str = "unstructured"
    df: str = "satterthwaite"
    lsmeans: str = "proportional"
    covariates_by_visit: bool = False


@dataclass(frozen=True)
class TrialSpec:
    """A validated trial specification."""

    path: Path
    identity: Identity
    data: DataSource
    arms: tuple[Arm, ...]
    visits: tuple[Visit, ...]
    baseline_visit: int
    primary_visit: int
    populations: dict[str, Population]
    adjustment: tuple[Covariate, ...]
    stratification: tuple[Covariate, ...]
    endpoints: tuple[Endpoint, ...]
    rules: dict[str, ResponderRule]
    decision: Decision | None
    baseline_table: tuple[BaselineVariable, ...]
    modules: dict[str, dict]
    mmrm: MMRMOptions
    text: dict[str, Path]
    references: Path | None
    raw: dict = field(repr=False, default_factory=dict)

    # ------------------------------------------------------------------ conveniences
    @property
    def arm_labels(self) -> tuple[str, ...]:
        """Arm labels in display order."""
        return tuple(a.label for a in self.arms)

    @property
    def control_arm(self) -> str:
        return next(a.label for a in self.arms if a.control)

    @property
    def experimental_arms(self) -> tuple[str, ...]:
        return tuple(a.label for a in self.arms if not a.control)

    @property
    def visit_numbers(self) -> tuple[int, ...]:
        return tuple(v.avisitn for v in self.visits)

    @property
    def post_baseline_visits(self) -> tuple[int, ...]:
        return tuple(v.avisitn for v in self.visits if v.avisitn != self.baseline_visit)

    def visit(self, avisitn: int) -> Visit:
        return next(v for v in self.visits if v.avisitn == avisitn)

    def endpoint(self, endpoint_id: str) -> Endpoint:
        """The endpoint with this id (``KeyError`` if not declared)."""
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(endpoint_id)

    def endpoints_by(self, *, role: str | None = None, kind: str | None = None):
        """Declared endpoints filtered by role and/or kind, in declaration order."""
        return tuple(e for e in self.endpoints if (role is None or e.role == role)
                     and (kind is None or e.kind == kind))

    def analysed_visits(self, endpoint: Endpoint) -> tuple[int, ...]:
        """Post-baseline visits analysed for ``endpoint`` (its ``visits``, or all)."""
        if endpoint.visit is not None and endpoint.kind != "repeated_continuous":
            return (endpoint.visit,)
        if endpoint.visits == "all":
            return self.post_baseline_visits
        return tuple(v for v in endpoint.visits if v != self.baseline_visit)

    def placeholders(self) -> list[str]:
        """Article items the specification does not supply (shown as placeholders)."""
        idn = self.identity
        out = [k for k in DECLARATIONS if not idn.declarations.get(k)]
        if not idn.authors:
            out.insert(0, "authors")
        if not idn.keywords:
            out.append("keywords")
        if not idn.registrations:
            out.append("registrations")
        out += [f"text:{k}" for k in ("introduction", "eligibility", "interventions",
                                      "discussion", "key_messages") if k not in self.text]
        return out
