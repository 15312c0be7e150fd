"""Outputs of the landscape: terminal tables, a self-contained HTML report, PDF."""
