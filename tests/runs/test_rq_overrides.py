"""The RQ worker methods that seecodes.runs.worker.RunWorker overrides are the ones it was written against: an RQ
upgrade that changes any of them fails here, naming the method to re-read before the pin moves."""
import hashlib
import inspect

import pytest
import rq
from rq import Worker

from seecodes.runs.worker import RunWorker

# RQ 3.0.0's source of each overridden method (sha256, first 16 hex digits) and what the override is for.
OVERRIDDEN = {
    "dequeue_job_and_maintain_ttl": ("2715cf34d9e3af3b", "opens the next horse's database connection while idle"),
    "dequeue_timeout": ("62cbfcfcde523452", "an idle worker's heartbeat period, which /readyz reads"),
    "maintain_heartbeats": ("b73451c9b97f7247", "a Redis outage while a job runs does not kill the worker"),
    "monitor_work_horse": ("218a5b8f3eff05cf", "a job that ends while Redis is down is still waited for"),
    "setup_work_horse_signals": ("cfc682cb5f0a2b49", "the horse ignores SIGTERM: systemd's stop is warm"),
    "register_birth": ("4690ab4f7b74ffb2", "a restarted worker replaces its stale registration"),
}


def _source_digest(name: str) -> str:
    member = inspect.getattr_static(Worker, name)
    function = member.fget if isinstance(member, property) else member
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_rq_is_the_pinned_version():
    assert rq.__version__ == "3.0.0", "RQ moved: re-read every override in seecodes/runs/worker.py first"


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_each_overridden_rq_method_is_unchanged(name):
    digest, purpose = OVERRIDDEN[name]
    assert _source_digest(name) == digest, f"RQ changed Worker.{name}; RunWorker overrides it so that {purpose}"


def test_the_list_is_every_method_the_worker_overrides():
    overridden = {name for name, member in vars(RunWorker).items()
                  if (callable(member) or isinstance(member, property)) and hasattr(Worker, name)}
    assert overridden == set(OVERRIDDEN)
