"""Rows of a prepared statement built as peewee builds them, for a fraction of the cost.

peewee turns each row into model objects value by value: it creates each object through
`Model.__init__`, sets every column through the field's descriptor (which marks it dirty, to
be cleared again at the end), and converts every value, even an int the driver already gave
as an int. On the home page and the board that was a third of a request. A `RowBuilder` is
made once per compiled statement from peewee's own analysis of its columns (which object and
which field each column feeds, how joined objects hang together), so it builds the same
objects, with the same joins, and writes plain fields straight into each object's data.

What it does not know how to build exactly as peewee would (an object that is not a model, a
field with a descriptor of its own, a value not of a plain field), it leaves to peewee: the
object or the value goes through peewee's own code, so the result never differs.
`tests/unit/test_row_builders.py` compares both on every kind of statement the app prepares.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    FieldAccessor,
    ForeignKeyAccessor,
    ForeignKeyField,
    IntegerField,
    ModelCursorWrapper,
    ModelDictCursorWrapper,
    ModelObjectCursorWrapper,
    ModelTupleCursorWrapper,
    TextField,
)

# Fields whose conversion is the identity on what both drivers return for their columns
# (ints for integer columns, str for text): exact types only, a subclass may convert.
_RETURNED_AS_IS = (AutoField, BigIntegerField, IntegerField, CharField, TextField)
# Descriptors whose __set__, on an object fresh from the database, only stores the value.
_PLAIN_ACCESSORS = (FieldAccessor, ForeignKeyAccessor)


def _returned_as_is(field) -> bool:
    if type(field) is ForeignKeyField:
        field = field.rel_field
    return type(field) in _RETURNED_AS_IS


def _converters(wrapper) -> list:
    """Each column's converter, None where the driver's value is already the field's."""
    converters = []
    for converter, field in zip(wrapper.converters, wrapper.fields, strict=True):
        if (
            converter is not None
            and field is not None
            and converter == field.python_value
            and _returned_as_is(field)
        ):
            converter = None
        converters.append(converter)
    return converters


def _stores_plainly(model: type, name: str) -> bool:
    """Whether setting `name` on a fresh `model` object only stores the value in its data."""
    if name not in model._meta.fields:
        return False
    for klass in model.__mro__:
        if name in vars(klass):
            return type(vars(klass)[name]) in _PLAIN_ACCESSORS
    return False


def _fresh(model: type):
    """A model object as `Model(__no_default__=True)` makes it, before any value is set."""
    obj = model.__new__(model)
    obj.__data__ = {}
    obj._dirty = set()
    obj.__rel__ = {}
    return obj


class RowBuilder:
    """Builds the rows of one compiled statement; `for_cursor` picks the kind."""

    @staticmethod
    def for_cursor(query, cursor) -> RowBuilder:
        wrapper = query._get_cursor_wrapper(cursor)
        wrapper.initialize()  # peewee's analysis of the columns, from the cursor's description
        kind = type(wrapper)
        if kind is ModelObjectCursorWrapper and wrapper.is_model:
            return _Objects(wrapper)
        if kind is ModelCursorWrapper:
            return _JoinedObjects(wrapper)
        if kind is ModelTupleCursorWrapper:
            return _Tuples(wrapper)
        if kind is ModelDictCursorWrapper:
            return _Dicts(wrapper)
        return _Peewee(query)

    def rows(self, cursor) -> list:
        raise NotImplementedError


class _Peewee(RowBuilder):
    """Anything else: peewee's own wrapper, made afresh for each cursor."""

    def __init__(self, query):
        self._query = query

    def rows(self, cursor) -> list:
        return list(self._query._get_cursor_wrapper(cursor))


class _Tuples(RowBuilder):
    def __init__(self, wrapper):
        self._convert = [(i, c) for i, c in enumerate(_converters(wrapper)) if c is not None]

    def rows(self, cursor) -> list:
        fetched = cursor.fetchall()
        if not self._convert:
            return [tuple(row) for row in fetched]
        rows = []
        for row in fetched:
            values = list(row)
            for i, convert in self._convert:
                values[i] = convert(values[i])
            rows.append(tuple(values))
        return rows


class _Dicts(RowBuilder):
    def __init__(self, wrapper):
        named = zip(wrapper.unique_columns, _converters(wrapper), strict=True)
        self._columns = list(enumerate(named))

    def rows(self, cursor) -> list:
        columns = self._columns
        return [
            {name: row[i] if convert is None else convert(row[i]) for i, (name, convert) in columns}
            for row in cursor.fetchall()
        ]


class _Objects(RowBuilder):
    """One model, no joins: peewee's ModelObjectCursorWrapper."""

    def __init__(self, wrapper):
        self._model = model = wrapper.constructor
        self._plain, self._other = [], []
        for i, (name, convert) in enumerate(
            zip(wrapper.unique_columns, _converters(wrapper), strict=True)
        ):
            (self._plain if _stores_plainly(model, name) else self._other).append(
                (i, name, convert)
            )

    def rows(self, cursor) -> list:
        model, plain, other = self._model, self._plain, self._other
        rows = []
        for row in cursor.fetchall():
            obj = _fresh(model)
            data = obj.__data__
            for i, name, convert in plain:
                data[name] = row[i] if convert is None else convert(row[i])
            for i, name, convert in other:
                setattr(obj, name, row[i] if convert is None else convert(row[i]))
            obj._dirty.clear()
            rows.append(obj)
        return rows


class _JoinedObjects(RowBuilder):
    """A model with joins: peewee's ModelCursorWrapper.process_row, step for step."""

    def __init__(self, wrapper):
        self._model = wrapper.model
        self._constructors = wrapper._constructor_list
        self._links = wrapper.src_to_dest
        self._reachable = wrapper._dest_reachable
        models = {key: construct for key, construct, is_model in self._constructors if is_model}
        self._columns = [
            (i, key, column, convert, key in models and _stores_plainly(models[key], column))
            for (i, key, column, _), convert in zip(
                wrapper._row_spec, _converters(wrapper), strict=True
            )
        ]

    def rows(self, cursor) -> list:
        return [self._row(row) for row in cursor.fetchall()]

    def _row(self, row):
        objects, built = {}, []
        for key, construct, is_model in self._constructors:
            if is_model:
                objects[key] = obj = _fresh(construct)
                built.append(obj)
            else:
                objects[key] = construct()
        root = objects[self._model]
        set_keys = set()
        for i, key, column, convert, plain in self._columns:
            # A column of a source not among the constructors lands on the root, as in peewee.
            instance = objects.get(key, root)
            value = row[i]
            if value is not None:
                set_keys.add(key)
            if convert is not None:
                value = convert(value)
            if plain:
                instance.__data__[column] = value
            elif isinstance(instance, dict):
                instance[column] = value
            else:
                setattr(instance, column, value)
        for src, attr, dest, is_dict, is_outer, is_fk in self._links:
            instance = objects.get(src)
            joined = objects.get(dest)
            if joined is None and dest not in objects:
                continue
            assign = False
            if dest not in set_keys and dest in self._reachable:
                assign = bool(self._reachable[dest] & set_keys)
            if dest not in set_keys and not assign:
                if is_outer:
                    joined = None
                else:
                    continue
            if src not in set_keys and dest not in set_keys and is_outer:
                continue
            if is_dict:
                instance[attr] = joined
            elif is_fk and joined is None:
                instance.__rel__[attr] = None  # peewee: a row known absent, the fk id kept
            else:
                setattr(instance, attr, joined)
        for obj in built:
            obj._dirty.clear()
        return root
