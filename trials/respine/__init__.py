"""RESPINE: its specification (trial.yaml), narrative (text/) and synthetic-data generator."""
