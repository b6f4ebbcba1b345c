"""Reading the catalog and seeding it from a JSON file without overwriting what an operator configured."""
import json
import logging
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..errors import Invalid
from ..extensions import db
from .models import CatalogModel

log = logging.getLogger(__name__)

DEFAULT_CATALOG = Path(__file__).with_name("default_catalog.json")
# "default": the OpenAI-compatible service of SEECODES_AI_BASE_URL / SEECODES_AI_MODEL / SEECODES_AI_API_KEY,
# resolved when a run executes, or the offline provider when those are not set.
PROVIDERS = ("offline", "openai", "default")
OFFLINE_NOTE = ("Served by the built-in offline provider: a deterministic report of the inputs, "
                "not an AI answer.")


def catalog_file(path: Path | None = None) -> Path:
    """The file `models seed` reads: --file, else SEECODES_CATALOG_FILE, else the built-in default."""
    return Path(path or current_app.config["SEECODES_CATALOG_FILE"] or DEFAULT_CATALOG)


def serving_provider(model: CatalogModel, environ=os.environ) -> str:
    """offline or openai: what actually serves the model in a process with this environment."""
    if model.provider == "default":
        return "openai" if environ.get("SEECODES_AI_BASE_URL") and environ.get("SEECODES_AI_MODEL") else "offline"
    return model.provider


def list_models() -> list[CatalogModel]:
    return list(
        db.session.execute(
            select(CatalogModel).where(CatalogModel.enabled.is_(True)).order_by(CatalogModel.position, CatalogModel.id)
        ).scalars()
    )


def get_model(model_id: str) -> CatalogModel:
    model = db.session.get(CatalogModel, model_id)
    if model is None or not model.enabled:
        raise unknown_model(model_id)
    return model


def unknown_model(model_id: str) -> Invalid:
    """The 422 for a model that is not in the catalog or not enabled."""
    return Invalid(f"Unknown model {model_id!r}.", errors={"model": [f"Unknown model {model_id!r}."]})


def to_document(model: CatalogModel) -> dict:
    description = model.description
    if serving_provider(model) == "offline":
        description = f"{description} ({OFFLINE_NOTE})" if description else OFFLINE_NOTE
    return {
        "id": model.id,
        "name": model.name,
        "maxContext": model.max_context,
        "description": description,
        "pricing": {"base": model.pricing_base, "per_token": model.pricing_per_token},
    }


def _validate_entry(entry: dict) -> None:
    if not isinstance(entry, dict):
        raise ValueError("every catalog entry must be an object")
    missing = [k for k in ("id", "maxContext", "pricing", "provider") if k not in entry]
    if missing:
        raise ValueError(f"catalog entry {entry.get('id')!r} lacks {', '.join(missing)}")
    if entry["provider"] not in PROVIDERS:
        raise ValueError(f"catalog entry {entry['id']!r}: provider must be one of {PROVIDERS}")
    if entry["provider"] == "openai":
        config = entry.get("providerConfig") or {}
        for key in ("baseUrl", "model"):
            if not config.get(key):
                raise ValueError(f"catalog entry {entry['id']!r}: openai provider needs providerConfig.{key}")


def seed(path: Path | None = None, update: bool = False) -> tuple[int, int]:
    """`_seed`, once more if a concurrent seed (make run and make worker starting together) inserted first."""
    from sqlalchemy.exc import IntegrityError

    try:
        return _seed(path, update)
    except IntegrityError:
        db.session.rollback()
        return _seed(path, update)


def _seed(path: Path | None = None, update: bool = False) -> tuple[int, int]:
    """Insert the file's entries that the catalog lacks. Existing entries are an operator's choice and stay as
    they are, unless `update` (then they take the file's values). Entries not in the file are left alone.
    Validates the whole file before writing anything. Commits: a seed is a command's whole work (`flask models
    seed`, run by make run and make worker at start), never a request's, and seed() retries after the commit
    that a concurrent seed made fail."""
    document = json.loads(catalog_file(path).read_text())
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise ValueError('the file must be {"models": [...]}')
    for entry in document["models"]:
        _validate_entry(entry)
    created = updated = 0
    for position, entry in enumerate(document["models"]):
        values = {
            "name": entry.get("name", entry["id"]),
            "description": entry.get("description", ""),
            "max_context": int(entry["maxContext"]),
            "pricing_base": float(entry["pricing"]["base"]),
            "pricing_per_token": float(entry["pricing"]["per_token"]),
            "provider": entry["provider"],
            "provider_config": entry.get("providerConfig") or {},
            "enabled": bool(entry.get("enabled", True)),
            "position": position,
        }
        model = db.session.get(CatalogModel, entry["id"])
        if model is None:
            db.session.add(CatalogModel(id=entry["id"], **values))
            created += 1
        elif update and any(getattr(model, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(model, key, value)
            updated += 1
    db.session.commit()
    return created, updated


def offline_models() -> list[str]:
    """Enabled models that this process would serve with the offline provider."""
    return [model.id for model in list_models() if serving_provider(model) == "offline"]


def warn_if_offline_in_production(app) -> None:
    """A production database with an offline model is most likely a forgotten SEECODES_AI_* setting."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    try:
        offline = offline_models()
    except Exception:  # the database may not be migrated yet; doctor reports that
        db.session.rollback()
        return
    if offline:
        log.warning("model(s) %s served by the offline provider (no AI) on a production database; set "
                    "SEECODES_AI_BASE_URL, SEECODES_AI_MODEL and SEECODES_AI_API_KEY or a catalog file "
                    "(SEECODES_CATALOG_FILE), see docs/operations.md", ", ".join(offline))
