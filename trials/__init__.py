"""Trials shipped with the project: one folder per trial (specification, narrative, data tools)."""
