"""The bus contract: envelope, common value types, and each service's payload models.

Written once here; the AsyncAPI document and JSON Schemas are generated from it."""
