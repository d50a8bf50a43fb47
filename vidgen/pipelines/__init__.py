"""Pipelines: one file per job, each a class whose ``__call__`` runs it end to end."""
