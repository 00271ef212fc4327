"""Statistics that know no trial: two proportions, ANCOVA, MMRM, multiple imputation, Bayes,
survival.
"""
