"""Every text column of a model under the retention policy is decided: erased when its
period is over, or kept because it holds a code, a state or a reference. A column added
later fails here until it is put in one list (services/retention.py)."""

from __future__ import annotations

import pytest
from peewee import CharField, TextField

from services.retention import ENTITY_TYPES, ERASED_FIELDS, KEPT_TEXT_FIELDS


@pytest.mark.parametrize("model", list(ENTITY_TYPES), ids=lambda m: m.__name__)
def test_every_text_column_is_either_erased_or_kept_on_purpose(model):
    text_columns = {
        name
        for name, field in model._meta.fields.items()
        if isinstance(field, (CharField, TextField))
    }
    erased, kept = set(ERASED_FIELDS[model]), set(KEPT_TEXT_FIELDS[model])
    assert not erased & kept, "a column is both erased and kept"
    assert text_columns - erased - kept == set(), "text columns the policy does not decide"
    assert (erased | kept) - text_columns == set(), "the policy names columns that do not exist"
