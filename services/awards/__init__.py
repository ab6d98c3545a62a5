"""Awards (nominations, decisions, awards, gifts): not built yet; see its issue. Nothing here runs."""
