"""Reading the catalog and seeding it idempotently from a JSON file."""
import json
from pathlib import Path

from sqlalchemy import select

from ..errors import Invalid
from ..extensions import db
from .models import CatalogModel

DEFAULT_CATALOG = Path(__file__).with_name("default_catalog.json")
PROVIDERS = ("offline", "openai")


def list_models() -> list[CatalogModel]:
    return list(
        db.session.execute(
            select(CatalogModel).where(CatalogModel.enabled.is_(True)).order_by(CatalogModel.position, CatalogModel.id)
        ).scalars()
    )


def get_model(model_id: str) -> CatalogModel:
    model = db.session.get(CatalogModel, model_id)
    if model is None or not model.enabled:
        raise Invalid(f"Unknown model {model_id!r}.", errors={"model": [f"Unknown model {model_id!r}."]})
    return model


def to_document(model: CatalogModel) -> dict:
    return {
        "id": model.id,
        "name": model.name,
        "maxContext": model.max_context,
        "description": model.description,
        "pricing": {"base": model.pricing_base, "per_token": model.pricing_per_token},
    }


def _validate_entry(entry: dict) -> None:
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


def seed(path: Path | None = None) -> tuple[int, int]:
    """Insert or update every entry of the file; entries not in the file are left alone. Commits."""
    document = json.loads(Path(path or DEFAULT_CATALOG).read_text())
    created = updated = 0
    for position, entry in enumerate(document["models"]):
        _validate_entry(entry)
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
        elif any(getattr(model, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(model, key, value)
            updated += 1
    db.session.commit()
    return created, updated
