"""Stopping a worker as systemd does (KillMode=control-group: SIGTERM to every process of the unit, the work
horse included) is a warm shutdown: the run in flight finishes and succeeds, then the worker exits."""
import os
import signal

import pytest

from .conftest import WorkerProcess, production_overrides
from .faults import use_queue, wait_for

QUEUE = "runs-stops"
PROVIDER_SECONDS = 3


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def app_overrides(moto_url, redis_db):
    return production_overrides(moto_url, SEECODES_RUN_QUEUE=QUEUE)


@pytest.fixture
def slow_model(add_model, fake_openai):
    """A model whose provider answers after a few seconds: long enough to stop the worker mid-call."""
    return add_model("fake slow stop", config=fake_openai.config(f"sleep{PROVIDER_SECONDS}", timeoutSeconds=30))


def sigterm_every_process(worker: WorkerProcess) -> list[int]:
    """What systemd's default stop does: SIGTERM to each process of the unit's tree at once."""
    tree = [worker.process.pid] + worker.descendants()
    for pid in tree:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return tree


@pytest.mark.slow
def test_sigterm_to_the_whole_worker_tree_mid_run_lets_the_run_succeed(app, runs, funded, slow_model, credits_of,
                                                                       moto_url, tmp_path):
    use_queue(app, QUEUE)
    worker = WorkerProcess(tmp_path, moto_url, SEECODES_RUN_QUEUE=QUEUE)
    try:
        run_id = runs.started(model=slow_model)
        assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote", worker.output()
        tree = sigterm_every_process(worker)
        assert len(tree) == 3, tree  # supervisor, RQ worker, work horse
        status = runs.wait(run_id, limit=PROVIDER_SECONDS + 20)
        assert status["status"] == "succeeded", (status, worker.output())
        # the warm shutdown ends with the run: the supervisor exits on its own, no process is left
        assert wait_for(lambda: worker.process.poll() is not None, 15), worker.output()
        assert worker.process.returncode == 0, worker.output()
        assert wait_for(lambda: not any(_alive(pid) for pid in tree), 5), worker.output()
    finally:
        worker.stop()
    assert credits_of(funded) < 1000  # charged once, not refunded


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
