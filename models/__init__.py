"""peewee models, one module per aggregate, and the schema they make together."""

from models.migrations import latest, upgrade
from models.schema import ALL_MODELS

__all__ = ["ALL_MODELS", "SCHEMA_VERSION", "create_schema"]

# The version the numbered steps reach (models/migrations.py says how to add one).
SCHEMA_VERSION = latest()


def create_schema() -> int:
    """Create an empty database or upgrade an older one (models/migrations.py); the version."""
    return upgrade().after
