"""Alembic migrations for the task store (run through app.services.store.schema)."""
