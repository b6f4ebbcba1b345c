"""Analytics writes under real concurrency: identical snapshots, index upserts of the same paths, progress saves."""
from datetime import datetime, timedelta

import pytest
import requests

from seecodes.activity.models import ActivitySnapshot
from seecodes.extensions import db
from seecodes.indexes.models import ProjectIndexEntry
from seecodes.progress.models import TaskProgress

from ..helpers import bearer, pool_for, race, raced_statuses
from ..server import serve
from ..contract_examples import PROGRESS_EXAMPLE, SNAPSHOT_EXAMPLE

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

THREADS = 8
ROUNDS = 3


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


@pytest.fixture
def base(app):
    with serve(app) as url:
        yield url


def _count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def test_parallel_identical_snapshots_are_stored_once(app, base, permit):
    for round_number in range(ROUNDS):
        body = {**SNAPSHOT_EXAMPLE, "windowStartedAt": f"2026-04-0{round_number + 1}T10:00:00.000Z",
                "windowEndedAt": f"2026-04-0{round_number + 1}T10:15:00.000Z"}
        results = race(THREADS, lambda i: requests.post(f"{base}/v1/tasks/activity-snapshot", json=body,
                                                        headers=bearer(permit), timeout=60))
        assert raced_statuses(results) == [200] * THREADS, f"round {round_number}"
        stored = sorted(result.json()["stored"] for result in results)
        assert stored == [False] * (THREADS - 1) + [True], f"round {round_number}"
        assert {result.json()["effortUnits"] for result in results} == {40}
        assert _count(app, ActivitySnapshot) == round_number + 1


def test_parallel_upserts_of_the_same_paths_keep_the_index_exact(app, base, permit):
    paths = [f"src/file{n}.ts" for n in range(20)]
    for round_number in range(ROUNDS):
        def upsert(index):
            entries = {path: {"hash": f"{round_number * THREADS + index:064x}", "short": f"writer {index}"}
                       for path in paths}
            return requests.post(f"{base}/v1/projects/AUTH/indexes/upsert", json={"entries": entries},
                                 headers=bearer(permit), timeout=60)

        results = race(THREADS, upsert)
        assert raced_statuses(results) == [200] * THREADS, f"round {round_number}"
        answers = [result.json() for result in results]
        assert {answer["totalFiles"] for answer in answers} == {len(paths)}, f"round {round_number}: {answers}"
        # Each upsert changed the index, so each got its own version: none was lost or merged.
        assert len({answer["updatedAt"] for answer in answers}) == THREADS
        assert _count(app, ProjectIndexEntry) == len(paths)
        with app.app_context():
            writers = {row.short for row in db.session.query(ProjectIndexEntry)}
            hashes = {row.hash for row in db.session.query(ProjectIndexEntry)}
        # The last upsert wins whole: every path holds one writer's entry, never a mix of two.
        assert len(writers) == 1 and len(hashes) == 1, f"round {round_number}: {writers}"


def test_parallel_progress_saves_leave_one_whole_document(app, base, permit):
    url = f"{base}/v1/tasks/AUTH-128/progress"
    for round_number in range(ROUNDS):
        documents = [{**PROGRESS_EXAMPLE, "progress": f"{index}%", "ready": [f"writer {index}"] * (index + 1)}
                     for index in range(THREADS)]
        results = race(THREADS, lambda i: requests.post(url, json=documents[i], headers=bearer(permit), timeout=60))
        assert raced_statuses(results) == [200] * THREADS, f"round {round_number}"
        saved = requests.get(url, params={"projectId": "AUTH"}, headers=bearer(permit), timeout=60).json()["progress"]
        saved.pop("updatedAt")
        assert saved in documents, f"round {round_number}: a mix of two saves: {saved}"
        assert _count(app, TaskProgress) == 1


SNAPSHOT_RACERS = 16


@pytest.mark.parametrize("app_overrides", [pool_for(SNAPSHOT_RACERS)])
def test_parallel_overlapping_windows_count_their_union_once(app, base, permit):
    """16 windows of 15 minutes, 1 s apart, posted at once: together they cover 15 min 15 s, so they may
    score at most what one full window scores plus rounding (32 + 1), exactly as when sent in turn."""
    def post(index):
        started = datetime(2026, 4, 4, 10, 0, index)
        body = {"windowStartedAt": f"{started.isoformat()}Z",
                "windowEndedAt": f"{(started + timedelta(minutes=15)).isoformat()}Z",
                "humanActiveMs": 600_000, "logicChange": True}  # 18 + 14 = 32 units for a whole window
        return requests.post(f"{base}/v1/tasks/activity-snapshot", json=body, headers=bearer(permit), timeout=60)

    results = race(SNAPSHOT_RACERS, post)
    assert raced_statuses(results) == [200] * SNAPSHOT_RACERS
    assert all(result.json()["stored"] for result in results)
    with app.app_context():
        total = db.session.query(db.func.sum(ActivitySnapshot.effort_units)).scalar()
    assert 32 <= total <= 33, f"overlapping windows counted {total} units"
