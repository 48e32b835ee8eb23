"""Ingestors: one module per source, each yields Observation records from redacted text."""
