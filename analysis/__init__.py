"""Randomised-trial analysis from a trial specification and ADaM data: the specification and
data contract (``spec``), trial-free statistics (``stats``), endpoint families (``families``),
displays, the results store and the report lookups."""
