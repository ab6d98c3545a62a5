"""Reporting (coverage and results rolled up the tree): not built yet; see its issue. Nothing here runs."""
