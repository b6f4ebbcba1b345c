"""Schemas of POST /v1/projects/{projectId}/indexes/query and /upsert."""
import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ..fields import StrictInteger
from ...indexes.paths import HASH, MAX_PATH_CHARS, normalise_hash, path_problem
from ...indexes.service import MAX_ANSWER_CHARS, MAX_ENTRY_CHARS, MAX_ITEMS, entry_chars

MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_SHORT_CHARS = 2000
MAX_DETAILED_CHARS = 20_000
MAX_NAMES = 200
MAX_NAME_CHARS = 1024
EXAMPLE_HASH = "a" * 64


def _check_path(value: str) -> None:
    problem = path_problem(value)
    if problem:
        raise ma.ValidationError(problem)


class IndexPath(ma.fields.String):
    def __init__(self, **kwargs):
        metadata = {"maxLength": MAX_PATH_CHARS, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        _check_path(value)
        return value


class ContentHash(ma.fields.String):
    """64 hex characters in any case, stored lowercase."""

    def __init__(self, **kwargs):
        metadata = {"minLength": 64, "maxLength": 64, "pattern": "^[0-9a-fA-F]{64}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not HASH.fullmatch(value):
            raise ma.ValidationError("Must be 64 hexadecimal characters (a SHA-256 digest).")
        return normalise_hash(value)


def _names(example: list[str]):
    return ma.fields.List(ma.fields.String(validate=validate.Length(max=MAX_NAME_CHARS)), load_default=list,
                          validate=validate.Length(max=MAX_NAMES), metadata={"example": example})


def _bounded_count(name: str):
    """Refuse oversized requests before validating thousands of nested values."""

    @ma.pre_load
    def check(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get(name), (list, dict)) and len(data[name]) > MAX_ITEMS:
            raise ma.ValidationError(f"At most {MAX_ITEMS} per request.", name)
        return data

    return check


class QueryItemSchema(Schema):
    path = IndexPath(required=True, metadata={"example": "src/auth.ts"})
    hash = ContentHash(required=True, metadata={"example": EXAMPLE_HASH})


class IndexQueryBodySchema(Schema):
    items = ma.fields.List(ma.fields.Nested(QueryItemSchema), required=True,
                           validate=validate.Length(max=MAX_ITEMS),
                           metadata={"description": f"At most {MAX_ITEMS} path/hash pairs, each path once. The "
                                                    f"matched entries may total at most {MAX_ANSWER_CHARS:,} "
                                                    "characters (413 `answer_too_large`: split the items)"})
    _limit = _bounded_count("items")


class EntrySchema(Schema):
    hash = ContentHash(required=True, metadata={"example": EXAMPLE_HASH})
    updatedAt = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=MAX_EPOCH_MS),
                                  metadata={"description": "Epoch ms; default: the time of the upsert",
                                            "example": 1710000000000})
    short = ma.fields.String(allow_none=True, validate=validate.Length(max=MAX_SHORT_CHARS),
                             metadata={"example": "Authentication helper"})
    detailed = ma.fields.String(allow_none=True, validate=validate.Length(max=MAX_DETAILED_CHARS),
                                metadata={"example": "Longer explainer..."})
    important_symbols = _names(["AuthGuard"])
    dependencies = _names(["src/session.ts"])
    exports = _names(["AuthGuard"])

    @ma.validates_schema(skip_on_field_errors=True)
    def bounded_entry(self, data, **kwargs):
        if entry_chars(data) > MAX_ENTRY_CHARS:
            raise ma.ValidationError(f"An entry's text (short, detailed and all names) may total at most "
                                     f"{MAX_ENTRY_CHARS:,} characters.")


class IndexUpsertBodySchema(Schema):
    entries = ma.fields.Dict(keys=IndexPath(), values=ma.fields.Nested(EntrySchema), load_default=dict,
                             metadata={"description": f"path -> entry, at most {MAX_ITEMS}; each entry's text "
                                                      f"at most {MAX_ENTRY_CHARS:,} characters",
                                       "maxProperties": MAX_ITEMS})
    deletePaths = ma.fields.List(IndexPath(), load_default=list, validate=validate.Length(max=MAX_ITEMS),
                                 metadata={"description": f"At most {MAX_ITEMS} paths to remove",
                                           "example": ["src/old-auth.ts"]})
    _limit_entries = _bounded_count("entries")
    _limit_deletes = _bounded_count("deletePaths")


class EntryAnswerSchema(Schema):
    hash = ma.fields.String(required=True)
    updatedAt = ma.fields.Integer(required=True)
    short = ma.fields.String(allow_none=True)
    detailed = ma.fields.String(allow_none=True)
    important_symbols = ma.fields.List(ma.fields.String())
    dependencies = ma.fields.List(ma.fields.String())
    exports = ma.fields.List(ma.fields.String())


class MatchSchema(Schema):
    pathMatched = ma.fields.Boolean(required=True)
    hashMatchedPath = ma.fields.String(required=True)
    entry = ma.fields.Nested(EntryAnswerSchema, required=True)


class IndexQueryAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    updatedAt = ma.fields.Integer(required=True, metadata={"description": "Epoch ms of the index's last change; 0 if none"})
    matches = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(MatchSchema),
                             metadata={"description": "Requested path -> match; unmatched paths are absent"})


class IndexUpsertAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    updatedAt = ma.fields.Integer(required=True, metadata={"example": 1710000000000})
    upserted = ma.fields.Integer(required=True)
    deleted = ma.fields.Integer(required=True)
    totalFiles = ma.fields.Integer(required=True)
