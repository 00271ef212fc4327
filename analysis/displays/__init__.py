"""Displays: tables, figures and text formatting that read the results store (no statistics are
computed here).
"""
