"""Alembic migrations of the grader schema."""
