"""The database proxy every model and statement is bound to; models/base.py binds it at start-up.

A module of its own so that the statements compiled once (models/prepared.py) can run on it,
and the base model's versioned save can use them, without importing each other.
"""

from peewee import DatabaseProxy

db = DatabaseProxy()
