"""Signed upload/download URLs of the local storage backend (not part of the public contract)."""
from flask import Blueprint

blp = Blueprint("storage", __name__)
