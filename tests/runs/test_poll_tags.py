"""Conditional status polls answered from Redis (seecodes/poll_tags.py): a poll whose tag is current sends no SQL;
every change that a poll would show (each transition, on the request path and the recorder's autocommit path; a
revoked permit; an uninstall; the permit's expiry) is seen by the next conditional poll; a change committed
while a poll read the database never leaves a stale tag behind; Redis failing or holding garbage only costs the
database read."""
import threading
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from seecodes import clock, poll_tags, readonly
from seecodes.extensions import db
from seecodes.installations import lifecycle, service as installations
from seecodes.queueing import redis_connection
from seecodes.runs import dispatch, recorder, state

from ..helpers import assert_envelope

pytestmark = pytest.mark.backends("production")


@pytest.fixture
def held(runs, monkeypatch):
    """A queued run that no job picks up (the test moves it), and a conditional poller of it."""
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)
    return Poller(runs)


class Poller:
    def __init__(self, runs):
        self.runs, self.tag = runs, None

    def poll(self, run_id):
        headers = {**self.runs.headers, **({"If-None-Match": self.tag} if self.tag else {})}
        answer = self.runs.client.get(f"/v1/tasks/{run_id}", headers=headers)
        if answer.status_code == 200:
            self.tag = answer.headers["ETag"]
        return answer

    def settle_tag(self, run_id):
        """Poll until a tag is stored for the current answer: the first poll answers 200, the second 304 (filling
        the tag); from the third on the 304 comes from Redis."""
        self.poll(run_id)
        assert self.poll(run_id).status_code == 304
        return self.tag


def _status(answer):
    return answer.get_json()["status"]["status"]


def test_a_current_tag_is_answered_without_sql(runs, held, statements, served, funded):
    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    tag = held.settle_tag(run_id)
    statements.clear()
    answer = held.poll(run_id)
    assert statements == []
    assert answer.status_code == 304 and answer.data == b"" and answer.headers["ETag"] == tag
    assert int(answer.headers["Retry-After"]) >= 1 and answer.headers["Cache-Control"] == "no-store"


def test_an_unconditional_poll_neither_reads_nor_writes_tags(runs, app, statements):
    run_id = runs.init().get_json()["runId"]
    for _ in range(3):
        assert runs.status(run_id).status_code == 200
    with app.app_context():
        assert not list(redis_connection().scan_iter(match=poll_tags.PREFIX + "*"))


def test_each_transition_of_the_request_path_is_seen_by_the_next_conditional_poll(runs, held, served, funded, app):
    run_id, _ = runs.prepared()
    held.settle_tag(run_id)
    assert runs.start(run_id).status_code == 200  # initialized -> queued (the start statement)
    assert _status(held.poll(run_id)) == "queued"
    held.settle_tag(run_id)
    with app.app_context():  # queued -> in_process through the session's executor (SQLite's way)
        assert recorder.Recorder(recorder.SessionExecutor()).claim(run_id, "test") is not None
    assert _status(held.poll(run_id)) == "in_process"
    held.settle_tag(run_id)
    assert runs.client.post(f"/v1/tasks/{run_id}/cancel", headers=runs.headers).status_code == 200
    assert _status(held.poll(run_id)) == "cancelled"
    assert held.poll(run_id).status_code == 304


def test_each_step_of_the_recorder_is_seen_by_the_next_conditional_poll(runs, held, served, funded, app):
    """The job's own steps (PostgreSQL: statements in autocommit on a raw connection)."""
    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    steps = [
        ("in_process", lambda job: job.claim(run_id, "test")),
        ("processing_remote", lambda job: job.start_remote(run_id, "processing_remote: test")),
        ("succeeded", lambda job: job.succeed(run_id, "succeeded: test", output_key=f"runs/{run_id}/o.md",
                                              result_zip_key=f"runs/{run_id}/r.zip", input_tokens=1,
                                              output_tokens=1, finished_at=clock.now())),
    ]
    for status, step in steps:
        held.settle_tag(run_id)
        with app.app_context():
            job = recorder.recorder()
            assert step(job)
            job.release()
        answer = held.poll(run_id)
        assert answer.status_code == 200 and _status(answer) == status


def test_a_failure_settled_outside_the_request_is_seen(runs, held, served, funded, app):
    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    held.settle_tag(run_id)
    with app.app_context():  # the reaper's and the uninstall's way: state.fail in a session
        assert state.fail(run_id, "reaped by the test")
        db.session.commit()
    assert _status(held.poll(run_id)) == "failed"


def test_a_rolled_back_transition_keeps_the_tag(runs, held, served, funded, app):
    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    held.settle_tag(run_id)
    with app.app_context():
        assert state.fail(run_id, "never committed")
        db.session.rollback()
        generations = redis_connection().get(poll_tags.run_key(run_id))
    assert generations is not None
    assert held.poll(run_id).status_code == 304


def test_a_revoked_permit_is_refused_at_once(runs, held, installation_id, app, statements):
    run_id = runs.init().get_json()["runId"]
    held.settle_tag(run_id)
    with app.app_context():
        installation = installations.get_by_installation_id(installation_id)
        assert lifecycle.revoke(installation.id).permits == 1
        db.session.commit()
    assert_envelope(held.poll(run_id), 401, "permit_revoked")


def test_an_uninstalled_installation_is_refused_at_once(runs, held, installation_id, app):
    run_id = runs.init().get_json()["runId"]
    held.settle_tag(run_id)
    with app.app_context():
        lifecycle.uninstall(installations.get_by_installation_id(installation_id))
        db.session.commit()
    assert_envelope(held.poll(run_id), 403, "installation_uninstalled")


def test_an_expired_permit_is_refused_even_with_a_current_tag(runs, held):
    run_id = runs.init().get_json()["runId"]
    held.settle_tag(run_id)
    clock.travel(timedelta(days=2))  # past the stored expiry (the signature's age is read from the wall clock)
    assert_envelope(held.poll(run_id), 401, "permit_expired")


def test_a_change_committed_during_a_polls_database_read_leaves_no_stale_tag(runs, held, served, funded, app,
                                                                            monkeypatch):
    """The fill's race: the poll read the generations and the row, then the run moved and its generation was
    deleted, then the poll stored its (now stale) tag. The next poll must still see the change."""
    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    held.poll(run_id)  # a tag to send back; none stored yet
    stale = held.tag
    read_the_row = readonly.connection

    def moving_after_the_read():
        context = read_the_row()

        class Moving:
            def __enter__(self):
                return context.__enter__()

            def __exit__(self, *exc):
                result = context.__exit__(*exc)

                def move():  # another actor, its own session and commit
                    with app.app_context():
                        assert recorder.Recorder(recorder.SessionExecutor()).claim(run_id, "racing")

                mover = threading.Thread(target=move)
                mover.start()
                mover.join()
                return result

        return Moving()

    monkeypatch.setattr(readonly, "connection", moving_after_the_read)
    assert held.poll(run_id).status_code == 304  # read before the move: still queued, tag stored afterwards
    monkeypatch.setattr(readonly, "connection", read_the_row)
    held.tag = stale
    answer = held.poll(run_id)
    assert answer.status_code == 200 and _status(answer) == "in_process"


def test_redis_failing_leaves_polls_on_the_database(runs, held, app, statements, monkeypatch):
    run_id = runs.init().get_json()["runId"]
    tag = held.settle_tag(run_id)
    with app.app_context():
        connection = redis_connection()

    def down(*args, **kwargs):
        raise RedisConnectionError("test: Redis is down")

    monkeypatch.setattr(connection, "mget", down)
    statements.clear()
    answer = held.poll(run_id)
    assert answer.status_code == 304 and answer.headers["ETag"] == tag
    assert "SELECT" in statements  # the database path answered


@pytest.mark.parametrize("entry", ["", "garbage", "a|b|c|d|e|f", "|||||", "x|y|notanumber|queued|s-1",
                                   "\xff\xfe|\x00|1|q|t"])
def test_a_tag_this_code_did_not_write_is_ignored(runs, held, app, statements, entry):
    run_id = runs.init().get_json()["runId"]
    tag = held.settle_tag(run_id)
    with app.app_context():
        keys = list(redis_connection().scan_iter(match=poll_tags.PREFIX + "t:*"))
        assert len(keys) == 1
        redis_connection().set(keys[0], entry)
    statements.clear()
    answer = held.poll(run_id)
    assert answer.status_code == 304 and answer.headers["ETag"] == tag and "SELECT" in statements


def test_another_permits_tag_is_not_used(runs, held, jira, client):
    """A tag belongs to one permit: a permit of another task polling the same run takes the database path."""
    run_id = runs.init().get_json()["runId"]
    tag = held.settle_tag(run_id)
    other = {"Authorization": f"Bearer {jira.permit('AUTH', 'AUTH-999')}", "If-None-Match": tag}
    assert_envelope(client.get(f"/v1/tasks/{run_id}", headers=other), 403, "permit_binding_mismatch")


def test_a_tag_lives_at_most_its_ttl_and_a_succeeded_runs_tag_ends_with_its_url_bucket(runs, held, served, funded,
                                                                                      app):
    from seecodes.runs import service

    run_id, _ = runs.prepared()
    assert runs.start(run_id).status_code == 200
    held.settle_tag(run_id)
    with app.app_context():
        connection = redis_connection()
        (key,) = connection.scan_iter(match=poll_tags.tag_key("*", run_id))
        assert 0 < connection.ttl(key) <= app.config.get("SEECODES_POLL_TAG_TTL_SECONDS", 10)
        job = recorder.recorder()
        for step in (lambda: job.claim(run_id, "t"), lambda: job.start_remote(run_id, "t"),
                     lambda: job.succeed(run_id, "t", output_key="o", result_zip_key="z", input_tokens=1,
                                         output_tokens=1, finished_at=clock.now())):
            assert step()
        job.release()
    app.config["SEECODES_POLL_TAG_TTL_SECONDS"] = 10 ** 6
    app.config["SEECODES_STORAGE_URL_TTL_SECONDS"] = 120  # buckets of 60 s
    held.settle_tag(run_id)
    with app.app_context():
        (key,) = connection.scan_iter(match=poll_tags.tag_key("*", run_id))
        assert 0 < connection.ttl(key) <= service.status_etag_seconds("succeeded", clock.epoch(clock.now())) <= 60


def test_a_tags_entry_is_read_back_exactly_and_nothing_else_is():
    tag = poll_tags.Tag("i1", "r2", 1_800_000_000, "queued", "s-abc")
    assert poll_tags.decode_entry(tag.encode()) == tag
    for entry in (None, "", "i|r|-1|queued|s", "i|r|1e3|queued|s", "i|r|1|queued", "i|r|1|queued|s|x"):
        assert poll_tags.decode_entry(entry) is None
    held = poll_tags.Held("p", "r", tag.encode(), "i1", "r2")
    assert poll_tags.current(held, 1_799_999_999) == tag
    assert poll_tags.current(held, 1_800_000_000) is None  # the permit expired
    assert poll_tags.current(poll_tags.Held("p", "r", tag.encode(), "i1", "other"), 0) is None
    assert poll_tags.current(poll_tags.Held("p", "r", tag.encode(), "other", "r2"), 0) is None
