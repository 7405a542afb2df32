"""Alembic migrations of quizrelay's schema (SQLite and PostgreSQL alike); see ``runner.py``."""
