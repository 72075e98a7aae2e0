"""Persistence: SQLAlchemy models, repositories (queries) and Alembic migrations."""
