"""A run of an AI model for one task, and the lines of its execution log."""
from ..extensions import db
from ..models_base import BigIntPK, utcnow

# initialized (created by init, waiting for uploads) -> queued -> in_process -> processing_remote
# -> succeeded | failed; any status before a final one -> cancelled (POST /v1/tasks/{runId}/cancel)
INITIALIZED = "initialized"
QUEUED = "queued"
IN_PROCESS = "in_process"
PROCESSING_REMOTE = "processing_remote"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
ACTIVE_STATUSES = (QUEUED, IN_PROCESS, PROCESSING_REMOTE)
CANCELLABLE_STATUSES = (INITIALIZED,) + ACTIVE_STATUSES


class Run(db.Model):
    __tablename__ = "runs"
    __table_args__ = (
        db.Index("ix_runs_binding", "installation_pk", "project_id", "task_id"),
        db.Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
        db.Index("ix_runs_installation_created", "installation_pk", "created_at"),  # team-competition fallback
        # Run data lifetime (seecodes/runs/lifetime.py): the open runs an init counts and the expiry pass reads,
        # and the settled runs whose data the retention pass has still to remove.
        db.Index("ix_runs_initialized", "installation_pk", "created_at",
                 postgresql_where=db.text("status = 'initialized'"), sqlite_where=db.text("status = 'initialized'")),
        db.Index("ix_runs_data_kept", "finished_at", postgresql_where=db.text("data_removed_at IS NULL"),
                 sqlite_where=db.text("data_removed_at IS NULL")),
    )

    id = db.Column(db.String(64), primary_key=True)  # run_<random>; also the RQ job id
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    user_account_id = db.Column(db.String(255), nullable=True)
    model_id = db.Column(db.String(128), nullable=False)
    files = db.Column(db.JSON, nullable=False)  # input file names, in the order init received them
    storage_prefix = db.Column(db.String(512), nullable=False)
    status = db.Column(db.String(32), nullable=False, default=INITIALIZED)
    user_prompt = db.Column(db.Text, nullable=True)
    estimated_input_tokens = db.Column(db.Integer, nullable=True)
    estimated_credits = db.Column(db.Integer, nullable=True)
    input_tokens = db.Column(db.Integer, nullable=True)
    output_tokens = db.Column(db.Integer, nullable=True)
    error = db.Column(db.Text, nullable=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)  # claims by a job
    requeues = db.Column(db.Integer, nullable=False, default=0)  # re-queues by the reaper after a lost job
    output_key = db.Column(db.String(512), nullable=True)
    result_zip_key = db.Column(db.String(512), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    queued_at = db.Column(db.DateTime, nullable=True)
    started_at = db.Column(db.DateTime, nullable=True)
    heartbeat_at = db.Column(db.DateTime, nullable=True)
    finished_at = db.Column(db.DateTime, nullable=True)
    request_id = db.Column(db.String(128), nullable=True)  # X-Request-ID of the start, to join worker log lines
    # {name: {"size": bytes, "etag": store's version}} of the inputs as start priced them; the job reads only these.
    input_versions = db.Column(db.JSON, nullable=True)
    data_removed_at = db.Column(db.DateTime, nullable=True)  # inputs, results and log removed after the retention


class RunLogLine(db.Model):
    """The execution log, one row per line, so it is readable while the run is still going."""

    __tablename__ = "run_log_lines"
    __table_args__ = (db.Index("ix_run_log_lines_run", "run_id", "id"),)

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    run_id = db.Column(db.String(64), db.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    logged_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    line = db.Column(db.Text, nullable=False)
