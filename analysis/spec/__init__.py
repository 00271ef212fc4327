"""The trial specification: a declarative description of one trial, and its data contract.

Layout: :mod:`.model` (frozen dataclasses), :mod:`.load` (YAML with line numbers, the JSON
Schema ``trial.schema.json``, cross-references), :mod:`.rules` (responder rules on BDS data),
:mod:`.contract` (datasets and columns required by a specification; checks of a data folder),
:mod:`.docs` (the reference page generated from the schema). Command line:
``python -m analysis.spec check trials/<name>/trial.yaml [--data DIR]``.
"""

from analysis.spec.load import SCHEMA_PATH, SpecError, SpecProblem, load_spec, schema
from analysis.spec.model import TrialSpec

__all__ = ["SCHEMA_PATH", "SpecError", "SpecProblem", "TrialSpec", "load_spec", "schema"]
