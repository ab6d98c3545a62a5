"""Registry: units (effective-dated tree with lineage), campaigns, festivals, movement models."""
