"""The HTTP face of the local storage backend: its signed upload and download URLs (not part of the public contract;
an upload is accepted only while its run waits for its start, which the runs service says)."""
import mimetypes

from flask import Blueprint, current_app, jsonify, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import DomainError, NotFound
from ..runs import service as runs
from ..settings import setting
from ..storage import keys
from ..storage.local import GET, PUT, LocalStorage, verify_token

blp = Blueprint("storage", __name__)

CHUNK_BYTES = 64 * 1024


class UploadTooLarge(DomainError):
    status, code = 413, "upload_too_large"


def _local() -> LocalStorage:
    if current_app.config["SEECODES_STORAGE"] != "local":
        raise NotFound("This backend stores objects in S3.", code="not_found")
    return LocalStorage.from_config(current_app)


def _body_chunks(limit: int):
    """The request body in chunks, refusing it as soon as it passes the limit."""
    received = 0
    try:
        while True:
            chunk = request.stream.read(CHUNK_BYTES)
            if not chunk:
                return
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(f"An input file may have at most {limit} bytes.")
            yield chunk
    except RequestEntityTooLarge:
        raise UploadTooLarge(f"An input file may have at most {limit} bytes.")


@blp.route("/storage/<path:key>", methods=["PUT"])
def put_object(key):
    """Store one input file of one run, while that run still waits for its uploads."""

    storage = _local()
    verify_token(request.args.get("sig", ""), key, PUT)
    target = keys.split_input_key(key)
    if target is None:
        raise NotFound("Only run inputs are uploaded.", code="object_not_found")
    runs.require_accepting_uploads(*target)
    limit = setting("SEECODES_MAX_UPLOAD_BYTES")
    if request.content_length is not None and request.content_length > limit:
        raise UploadTooLarge(f"An input file may have at most {limit} bytes.")
    request.max_content_length = limit + 1
    size = storage.write_stream(key, _body_chunks(limit))
    return jsonify({"ok": True, "key": key, "size": size})


@blp.route("/storage/<path:key>", methods=["GET"])
def get_object(key):
    """Serve one stored object to the holder of its signed download URL."""
    storage = _local()
    verify_token(request.args.get("sig", ""), key, GET)
    path = storage.path(key)
    if not path.is_file():
        raise NotFound("No such object.", code="object_not_found")
    mimetype = {".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8",
                ".zip": "application/zip"}.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return send_file(path, mimetype=mimetype or "application/octet-stream", download_name=path.name,
                     max_age=0, conditional=False)
