"""RESPINE trial analysis: data contract, synthetic data, derivations, endpoints, results store."""
