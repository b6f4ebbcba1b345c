"""Run life cycle as the API sees it: init, start (estimate, debit, queue), status, output and logs."""
import re

import hashlib

from sqlalchemy import DateTime, Integer, String, and_, bindparam, func, insert, literal, literal_column, select

from .. import clock, ids, readonly, storage
from ..catalog import service as catalog
from ..catalog.models import CatalogModel
from ..credits import service as credits
from ..errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from ..extensions import db
from ..installations.models import Installation
from ..permits import service as permits
from ..permits.service import Binding
from ..storage import keys
from . import dispatch, lifetime, rules, state
from .models import ACTIVE_STATUSES, CANCELLABLE_STATUSES, CANCELLED, INITIALIZED, QUEUED, SUCCEEDED, Run
from ..settings import setting

RUN_ID = re.compile(r"^run_[0-9a-f]{24}$")


class InputTooLarge(DomainError):
    status, code = 413, "input_exceeds_context"


def init_run(binding: Binding, model_id: str, files: list[str]) -> dict:
    """Create the run in the permit's binding; answer the init document (runId, bucket, prefix, uploads: a URL
    per file that a plain PUT of its bytes uploads to, uploadMethod PUT, and on S3 the optional presigned POST
    forms). 409 too_many_open_runs once the installation has SEECODES_MAX_OPEN_RUNS runs waiting for a start."""
    problems = rules.file_name_problems(files)
    if problems:
        raise Invalid("Some file names are not acceptable.", errors={"files": problems})
    store = storage.get()
    storage.ensure_usable(store)
    run_id = ids.new_id("run_")
    moment = clock.now()
    prefix = keys.input_prefix(run_id)
    ttl, cap = setting("SEECODES_RUN_INIT_TTL_SECONDS"), setting("SEECODES_MAX_OPEN_RUNS")
    _take_turns_counting_open_runs(binding.installation_pk)
    inserted = db.session.execute(_INIT_STATEMENT, {
        "the_run": run_id, "installation": binding.installation_pk, "project": binding.project_id,
        "task": binding.task_id, "user": binding.user_account_id, "model": model_id, "file_names": list(files),
        "prefix": prefix, "moment": moment, "open_since": lifetime.open_since(moment, ttl),
        "max_open": cap}).first()
    if inserted is None:
        catalog.get_model(model_id)  # 422 for a model that is unknown or disabled; else the cap refused it
        raise lifetime.too_many_open_runs(cap, ttl)
    targets = {name: keys.input_key(run_id, name) for name in files}
    document = {"runId": run_id, "bucket": store.bucket, "prefix": prefix, "uploadMethod": "PUT",
                "uploads": {name: store.upload_url(key) for name, key in targets.items()}}
    forms = storage.upload_forms(store, targets)
    if forms is not None:
        document["uploadForms"] = forms
    return document


def _take_turns_counting_open_runs(installation_pk: int) -> None:
    """On PostgreSQL, concurrent inits of one installation take turns on its row, so that each one's count of
    open runs sees the runs the others inserted (a statement reads the snapshot of its start: without the
    turn, two inits at the cap minus one would both pass). SQLite admits one writer at a time already."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_OPEN_RUNS_TURN, {"installation": installation_pk})


def _init_statement():
    """The run's row, inserted only if its model is in the catalog and enabled and the installation has fewer
    than max_open runs initialized since open_since: the checks and the insert are one statement (every run's
    path), built once. Nothing inserted = no such model, or the open-run cap."""
    moment = bindparam("moment", type_=DateTime())
    installation = bindparam("installation", type_=Integer())
    open_runs = select(func.count()).select_from(RUNS).where(
        RUNS.c.installation_pk == installation, RUNS.c.status == _INITIALIZED_LITERAL,
        RUNS.c.created_at > bindparam("open_since", type_=DateTime())).scalar_subquery()
    return insert(RUNS).from_select(
        ["id", "installation_pk", "project_id", "task_id", "user_account_id", "model_id", "files", "storage_prefix",
         "status", "attempts", "requeues", "created_at", "updated_at"],
        select(bindparam("the_run", type_=String()), bindparam("installation", type_=Integer()),
               bindparam("project", type_=String()), bindparam("task", type_=String()),
               bindparam("user", type_=String()), MODELS.c.id, bindparam("file_names", type_=RUNS.c.files.type),
               bindparam("prefix", type_=String()), literal(INITIALIZED), literal(0), literal(0), moment, moment)
        .where(MODELS.c.id == bindparam("model", type_=String()), MODELS.c.enabled.is_(True),
               open_runs < bindparam("max_open", type_=Integer())),
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
INSTALLATIONS = Installation.__table__
# Written out, not bound: the partial index ix_runs_initialized applies only to a literal predicate.
_INITIALIZED_LITERAL = literal_column(f"'{INITIALIZED}'")
_INIT_STATEMENT = _init_statement()
_OPEN_RUNS_TURN = (select(INSTALLATIONS.c.id).where(INSTALLATIONS.c.id == bindparam("installation", type_=Integer()))
                   .with_for_update(key_share=True))  # FOR NO KEY UPDATE: inserts referencing the row go on


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
OUTPUT_WITH_PERMIT = _with_permit(RUNS.c.status.label("run_status"), RUNS.c.output_key.label("run_output_key"),
                                  RUNS.c.data_removed_at.label("run_data_removed_at"))
# GET …/logs: the newest line's id comes with the permit check, so an unchanged log is a 304 without reading it.
LOGS_WITH_PERMIT = _with_permit(
    RUNS.c.data_removed_at.label("run_data_removed_at"),
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


def status_etag_seconds(status: str, now: int) -> int:
    """How long a succeeded run's status tag stays the same (until its presigned URL's half lifetime turns over,
    as status_etag says); any other status's tag changes only with the run."""
    if status != SUCCEEDED:
        return 24 * 3600
    half = max(1, setting("SEECODES_STORAGE_URL_TTL_SECONDS") // 2)
    return half - now % half


def logs_etag(binding: Binding, read) -> str:
    """The log's validator: lines are only ever appended, so the newest line's id names the whole text."""
    run_id = run_id_from_read(binding, read)
    _require_data(read)
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
    """The output text from the row of OUTPUT_WITH_PERMIT; 410 once the retention removed it."""
    run_id_from_read(binding, read)
    _require_data(read)
    return _output(read.run_status, read.run_output_key)


def logs_from_read(binding: Binding, read) -> str:
    """The log text of the run of a LOGS_WITH_PERMIT read; 410 once the retention removed it."""
    run_id = run_id_from_read(binding, read)
    _require_data(read)
    with readonly.connection() as connection:
        return log_text(run_id, connection)


def _require_data(read) -> None:
    if read.run_data_removed_at is not None:
        raise lifetime.data_removed(setting("SEECODES_RUN_DATA_RETENTION_DAYS"))


def require_accepting_uploads(run_id: str, name: str) -> None:
    """Inputs may be (re)placed only while the run waits for its start, and only under a name it declared."""
    with readonly.connection() as connection:
        run = connection.execute(select(RUNS.c.files, RUNS.c.status, RUNS.c.created_at, RUNS.c.queued_at)
                                 .where(RUNS.c.id == run_id)).first()
    if run is None or name not in run.files:
        raise NotFound("No such upload target.", code="object_not_found")
    _require_startable(run)


def _require_startable(run) -> None:
    """409 run_expired past the init TTL (before the maintenance pass marks it, too), 409 run_already_started
    once started."""
    ttl = setting("SEECODES_RUN_INIT_TTL_SECONDS")
    if lifetime.was_expired(run.status, run.queued_at) or (
            run.status == INITIALIZED and lifetime.has_expired(run.created_at, clock.now(), ttl)):
        raise lifetime.run_expired(ttl)
    if run.status != INITIALIZED:
        raise Conflict(f"This run was already started (status {run.status}); its inputs can no longer change.",
                       code="run_already_started")


def input_versions(run: Run) -> dict[str, storage.ObjectVersion | None]:
    """What the store holds of each input now (one HEAD per file, never a read)."""
    store = storage.get()
    return {name: store.head(keys.input_key(run.id, name)) for name in run.files}


def start_run(binding: Binding, run_id: str, model_id: str | None, user_prompt: str | None) -> dict:
    """Estimate, debit and queue in the caller's transaction; the queue is reached before it commits.
    Answers the start document (runId, status, estimatedInputTokens, estimatedCredits).

    If Redis is down the enqueue raises 503 and the guard rolls the debit and the status change back.
    """
    run, model = find_run(binding, run_id)
    _require_startable(run)
    if model_id is not None and model_id != run.model_id:
        raise Invalid(f"This run was initialized for model {run.model_id!r}.",
                      errors={"model": [f"Must be {run.model_id!r}, the model given to init."]})
    if model is None or not model.enabled:
        model = catalog.get_model(run.model_id)  # raises: the model left the catalog since init
    versions = input_versions(run)
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        raise Conflict(f"Upload these files first: {', '.join(missing)}.", code="uploads_incomplete",
                       missingFiles=missing)
    limit = setting("SEECODES_MAX_UPLOAD_BYTES")
    oversized = [name for name, version in versions.items() if version.size > limit]
    if oversized:
        # A presigned PUT cannot bound its size (nor can every S3-compatible store enforce a POST policy): the
        # file must not stay. The run can be started again after a new upload.
        store = storage.get()
        for name in oversized:
            store.delete(keys.input_key(run.id, name))
        raise DomainError(f"Input files may have at most {limit} bytes: {', '.join(oversized)}; they were "
                          "deleted, upload them again within the limit.", code="upload_too_large", status=413,
                          files=oversized)
    sizes = {name: version.size for name, version in versions.items()}
    tokens = rules.estimate_input_tokens(sizes, user_prompt)
    if tokens > model.max_context:
        raise InputTooLarge(f"The input is about {tokens} tokens; model {model.id!r} reads at most "
                            f"{model.max_context}.", estimatedInputTokens=tokens, maxContext=model.max_context)
    price = rules.price(model.pricing_base, model.pricing_per_token, tokens)
    line = (f"queued: model {model.id!r}, provider {catalog.serving_provider(model)}, {len(sizes)} file(s), "
            f"{sum(sizes.values())} bytes, ~{tokens} input tokens, {price} credits debited")
    _queue_and_debit(run, price, line, user_prompt=user_prompt, estimated_input_tokens=tokens,
                     input_versions={name: version.document() for name, version in versions.items()})
    dispatch.enqueue(run.id)
    return {"runId": run.id, "status": QUEUED, "estimatedInputTokens": tokens, "estimatedCredits": price}


def _queue_and_debit(run: Run, price: int, line: str, **values) -> None:
    """The start's move and debit (state.queue_debited, the rule on both databases) in the caller's transaction,
    which rolls back on the 409 / 402 raised here."""
    moved, debited, available = state.queue_debited(run.id, run.installation_pk, price, line, **values)
    if not moved:
        raise Conflict("This run was already started.", code="run_already_started")
    if not debited:
        raise credits.insufficient(price, available)


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
