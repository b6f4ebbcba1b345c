"""Run life cycle as the API sees it: init, start (estimate, debit, queue), status, output and logs."""
import re

import hashlib

from sqlalchemy import DateTime, Integer, String, and_, bindparam, func, insert, literal, select

from .. import clock, ids, readonly, storage
from ..catalog import service as catalog
from ..catalog.models import CatalogModel
from ..credits import service as credits
from ..errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from ..extensions import db
from ..permits import service as permits
from ..permits.service import Binding
from ..storage import keys
from . import dispatch, rules, state
from .models import ACTIVE_STATUSES, CANCELLABLE_STATUSES, CANCELLED, INITIALIZED, QUEUED, SUCCEEDED, Run
from .settings import setting

RUN_ID = re.compile(r"^run_[0-9a-f]{24}$")


class InputTooLarge(DomainError):
    status, code = 413, "input_exceeds_context"


def init_run(binding: Binding, model_id: str, files: list[str]) -> dict:
    """Create the run in the permit's binding; answer the init document (runId, bucket, prefix, uploads, and on
    S3 the presigned POST forms)."""
    problems = rules.file_name_problems(files)
    if problems:
        raise Invalid("Some file names are not acceptable.", errors={"files": problems})
    store = storage.get()
    storage.ensure_usable(store)
    run_id = ids.new_id("run_")
    moment = clock.now()
    prefix = keys.input_prefix(run_id)
    inserted = db.session.execute(_INIT_STATEMENT, {
        "the_run": run_id, "installation": binding.installation_pk, "project": binding.project_id,
        "task": binding.task_id, "user": binding.user_account_id, "model": model_id, "file_names": list(files),
        "prefix": prefix, "moment": moment}).first()
    if inserted is None:
        raise catalog.unknown_model(model_id)
    document = {"runId": run_id, "bucket": store.bucket, "prefix": prefix}
    forms = storage.upload_forms(store, {name: keys.input_key(run_id, name) for name in files})
    if forms is None:
        document.update(uploadMethod="PUT",
                        uploads={name: store.upload_url(keys.input_key(run_id, name)) for name in files})
    else:
        document.update(uploadMethod="POST", uploads={name: form["url"] for name, form in forms.items()},
                        uploadForms=forms)
    return document


def _init_statement():
    """The run's row, inserted only if its model is in the catalog and enabled: the model's check and the
    insert are one statement (every run's path), built once. Nothing inserted = no such model."""
    moment = bindparam("moment", type_=DateTime())
    return insert(RUNS).from_select(
        ["id", "installation_pk", "project_id", "task_id", "user_account_id", "model_id", "files", "storage_prefix",
         "status", "attempts", "requeues", "created_at", "updated_at"],
        select(bindparam("the_run", type_=String()), bindparam("installation", type_=Integer()),
               bindparam("project", type_=String()), bindparam("task", type_=String()),
               bindparam("user", type_=String()), MODELS.c.id, bindparam("file_names", type_=RUNS.c.files.type),
               bindparam("prefix", type_=String()), literal(INITIALIZED), literal(0), literal(0), moment, moment)
        .where(MODELS.c.id == bindparam("model", type_=String()), MODELS.c.enabled.is_(True)),
    ).returning(RUNS.c.id)


def find_run(binding: Binding, run_id: str) -> tuple[Run, CatalogModel | None]:
    """The run and its catalog model (one query), if the permit may see the run: 404 unknown or another
    tenant's, 403 another task of the tenant."""
    found = db.session.execute(
        select(Run, CatalogModel).outerjoin(CatalogModel, CatalogModel.id == Run.model_id).where(Run.id == run_id)
    ).first() if RUN_ID.fullmatch(run_id or "") else None
    run, model = found if found is not None else (None, None)
    if run is None or run.installation_pk != binding.installation_pk:
        raise NotFound("No such run.", code="run_not_found")
    if run.project_id != binding.project_id or run.task_id != binding.task_id:
        raise Forbidden("This run belongs to another task than the permit's.", code="permit_binding_mismatch")
    return run, model


RUNS = Run.__table__
MODELS = CatalogModel.__table__
_INIT_STATEMENT = _init_statement()


def _with_permit(*columns) -> permits.PermitRead:
    """A permit route's read: the permit check and the run's binding plus `columns` in one query (an outer join,
    so a missing run still lets the permit be judged first: 401 before 404)."""
    return permits.PermitRead(
        permits.check_statement(lambda check: check.add_columns(
            RUNS.c.id.label("run_id"), RUNS.c.project_id.label("run_project_id"),
            RUNS.c.task_id.label("run_task_id"), *columns,
        ).outerjoin(RUNS, and_(RUNS.c.id == bindparam("run_id"),
                               RUNS.c.installation_pk == permits.PERMITS.c.installation_pk))),
        lambda view_kwargs: {"run_id": view_kwargs["runId"]},
    )


# GET /v1/tasks/{runId}, …/output and …/logs: each one query, built once.
STATUS_WITH_PERMIT = _with_permit(RUNS.c.status.label("run_status"), RUNS.c.updated_at.label("run_updated_at"),
                                  RUNS.c.error.label("run_error"), RUNS.c.result_zip_key.label("run_result_zip_key"))
OUTPUT_WITH_PERMIT = _with_permit(RUNS.c.status.label("run_status"), RUNS.c.output_key.label("run_output_key"))
RUN_WITH_PERMIT = _with_permit()
# GET …/logs: the newest line's id comes with the permit check, so an unchanged log is a 304 without reading it.
LOGS_WITH_PERMIT = _with_permit(
    select(func.max(state.LOG_LINES.c.id)).where(state.LOG_LINES.c.run_id == RUNS.c.id)
    .scalar_subquery().label("run_last_log_id"))


def run_id_from_read(binding: Binding, read) -> str:
    """find_run's 404 / 403 rules on the row of a _with_permit read; answers the run id."""
    if read.run_id is None:
        raise NotFound("No such run.", code="run_not_found")
    if read.run_project_id != binding.project_id or read.run_task_id != binding.task_id:
        raise Forbidden("This run belongs to another task than the permit's.", code="permit_binding_mismatch")
    return read.run_id


def status_from_read(binding: Binding, read) -> dict:
    """The status document from the row of STATUS_WITH_PERMIT."""
    run_id_from_read(binding, read)
    return _status(read.run_status, read.run_updated_at, read.run_error, read.run_result_zip_key)


def status_etag(binding: Binding, read) -> str:
    """The status document's validator, from the row alone (no answer built): it changes with every transition.
    A succeeded run's answer carries a presigned URL, so its tag also turns over every half URL lifetime: a
    client that keeps its answer on 304 never holds a URL about to expire."""
    run_id_from_read(binding, read)
    parts = [read.run_id, read.run_status, clock.iso(read.run_updated_at, micro=True), read.run_error or "",
             read.run_result_zip_key or ""]
    if read.run_status == SUCCEEDED and read.run_result_zip_key:
        parts.append(str(clock.epoch(clock.now()) // max(1, setting("SEECODES_STORAGE_URL_TTL_SECONDS") // 2)))
    return "s-" + hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:32]


def logs_etag(binding: Binding, read) -> str:
    """The log's validator: lines are only ever appended, so the newest line's id names the whole text."""
    run_id = run_id_from_read(binding, read)
    return f"l-{run_id}-{read.run_last_log_id or 0}"


BYTE_RANGE = re.compile(r"bytes=(\d{1,18})-(\d{0,18})")


def byte_range(header: str | None, length: int) -> tuple[int, int] | None:
    """(first, last) byte of a `Range: bytes=N-` or `bytes=N-M` header over `length` bytes; None to answer the
    whole text (no Range, or a form we do not serve); 416 when nothing lies at or after byte N."""
    match = BYTE_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first = int(match.group(1))
    last = min(int(match.group(2)), length - 1) if match.group(2) else length - 1
    if first >= length or last < first:
        raise DomainError("Nothing in the log at or after that byte.", code="range_not_satisfiable", status=416,
                          headers={"Content-Range": f"bytes */{length}"})
    return first, last


def poll_after(status: str) -> int | None:
    """Seconds a poller should wait before asking again (Retry-After), while the run is working; None once it
    settled or while it waits for its start."""
    return setting("SEECODES_POLL_INTERVAL_SECONDS") if status in ACTIVE_STATUSES else None


def output_from_read(binding: Binding, read) -> str:
    """The output text from the row of OUTPUT_WITH_PERMIT."""
    run_id_from_read(binding, read)
    return _output(read.run_status, read.run_output_key)


def require_accepting_uploads(run_id: str, name: str) -> None:
    """Inputs may be (re)placed only while the run waits for its start, and only under a name it declared."""
    with readonly.connection() as connection:
        run = connection.execute(select(RUNS.c.files, RUNS.c.status).where(RUNS.c.id == run_id)).first()
    if run is None or name not in run.files:
        raise NotFound("No such upload target.", code="object_not_found")
    if run.status != INITIALIZED:
        raise Conflict("This run has started; its inputs can no longer change.", code="run_already_started")


def input_sizes(run: Run) -> dict[str, int | None]:
    store = storage.get()
    return {name: store.size(keys.input_key(run.id, name)) for name in run.files}


def start_run(binding: Binding, run_id: str, model_id: str | None, user_prompt: str | None) -> dict:
    """Estimate, debit and queue in the caller's transaction; the queue is reached before it commits.
    Answers the start document (runId, status, estimatedInputTokens, estimatedCredits).

    If Redis is down the enqueue raises 503 and the guard rolls the debit and the status change back.
    """
    run, model = find_run(binding, run_id)
    if run.status != INITIALIZED:
        raise Conflict(f"This run was already started (status {run.status}).", code="run_already_started")
    if model_id is not None and model_id != run.model_id:
        raise Invalid(f"This run was initialized for model {run.model_id!r}.",
                      errors={"model": [f"Must be {run.model_id!r}, the model given to init."]})
    if model is None or not model.enabled:
        model = catalog.get_model(run.model_id)  # raises: the model left the catalog since init
    sizes = input_sizes(run)
    missing = [name for name, size in sizes.items() if size is None]
    if missing:
        raise Conflict(f"Upload these files first: {', '.join(missing)}.", code="uploads_incomplete",
                       missingFiles=missing)
    limit = setting("SEECODES_MAX_UPLOAD_BYTES")
    oversized = [name for name, size in sizes.items() if size > limit]
    if oversized:
        # A store that does not enforce the upload policy (some S3-compatible ones) must not keep the file.
        for name in oversized:
            storage.discard(storage.get(), keys.input_key(run.id, name))
        raise DomainError(f"Input files may have at most {limit} bytes: {', '.join(oversized)}.",
                          code="upload_too_large", status=413, files=oversized)
    tokens = rules.estimate_input_tokens(sizes, user_prompt)
    if tokens > model.max_context:
        raise InputTooLarge(f"The input is about {tokens} tokens; model {model.id!r} reads at most "
                            f"{model.max_context}.", estimatedInputTokens=tokens, maxContext=model.max_context)
    price = rules.price(model.pricing_base, model.pricing_per_token, tokens)
    line = (f"queued: model {model.id!r}, provider {catalog.serving_provider(model)}, {len(sizes)} file(s), "
            f"{sum(sizes.values())} bytes, ~{tokens} input tokens, {price} credits debited")
    _queue_and_debit(run, price, line, user_prompt=user_prompt, estimated_input_tokens=tokens)
    dispatch.enqueue(run.id)
    return {"runId": run.id, "status": QUEUED, "estimatedInputTokens": tokens, "estimatedCredits": price}


def _queue_and_debit(run: Run, price: int, line: str, **values) -> None:
    """initialized -> queued, the debit and its usage row, the log line: in the caller's transaction (which
    rolls back on the 409 / 402 raised here); one statement on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        moved, debited, available = state.queue_debited(run.id, run.installation_pk, price, line, **values)
        if not moved:
            raise Conflict("This run was already started.", code="run_already_started")
        if not debited:
            raise credits.insufficient(price, available)
        return
    moment = clock.now()
    if not state.move(run.id, INITIALIZED, QUEUED, estimated_credits=price, queued_at=moment, heartbeat_at=moment,
                      **values):
        raise Conflict("This run was already started.", code="run_already_started")
    credits.debit(run.installation_pk, price, run_id=run.id, project_id=run.project_id, task_id=run.task_id,
                  user_account_id=run.user_account_id)
    state.log(run.id, line)


def status_document(run: Run) -> dict:
    return _status(run.status, run.updated_at, run.error, run.result_zip_key)


def _status(status: str, updated_at, error: str | None, result_zip_key: str | None) -> dict:
    document = {"status": status, "updatedAt": clock.iso(updated_at)}
    if error:
        document["error"] = error
    if status == SUCCEEDED and result_zip_key:
        document["resultZipUrl"] = storage.get().download_url(result_zip_key)
    return document


def _output(status: str, output_key: str | None) -> str:
    if status != SUCCEEDED or not output_key:
        raise Conflict(f"The output exists once the run has succeeded (status {status}).",
                       code="run_not_succeeded", runStatus=status)
    return storage.get().read(output_key).decode("utf-8", errors="replace")


log_text = state.log_text  # the one formatter of run logs lives with the run's state


def cancel_run(binding: Binding, run_id: str) -> dict:
    """Cancel the run in the caller's transaction: settled at once as cancelled with its debit refunded, whatever
    it was doing (a job still working on it stops at its next step). Cancelling a cancelled run answers the same
    again; a run that succeeded or failed is a 409."""
    run, _ = find_run(binding, run_id)
    if run.status in CANCELLABLE_STATUSES:
        state.cancel(run.id)  # False when another actor settled it since find_run: the status below says who
    status = db.session.execute(select(RUNS.c.status).where(RUNS.c.id == run.id)).scalar_one()
    if status != CANCELLED:
        raise Conflict(f"This run has already settled (status {status}); there is nothing to cancel.",
                       code="run_already_settled", runStatus=status)
    return {"runId": run.id, "status": CANCELLED, "refundedCredits": credits.refunded(run.id)}
