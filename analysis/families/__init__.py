"""Endpoint families: they apply the trial specification to the data and write rows of the
results store.
"""
