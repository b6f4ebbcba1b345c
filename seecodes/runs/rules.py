"""Run rules that know nothing of HTTP or storage: file names, the token estimator, pricing, transitions."""
import math

from .models import CANCELLED, FAILED, IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED

MAX_FILES = 20
# Counted in UTF-8 bytes, as file systems (255 bytes per name) and S3 keys (1,024 bytes, of which the prefix
# runs/<runId>/input/ takes under 50) count them: 200 two-byte characters are 400 bytes, too long.
MAX_NAME_BYTES = 255
MAX_PROMPT_CHARS = 200_000
DEFAULT_FILES = ("list.md",)

# The estimator: ~4 bytes of UTF-8 per token is the usual rule for English prose and code under the
# BPE vocabularies of current chat models (cl100k/o200k); each file also costs its header in the prompt.
BYTES_PER_TOKEN = 4
FILE_HEADER_TOKENS = 8
PROMPT_OVERHEAD_TOKENS = 32

# A user may cancel a run in any status before a final one (the cancel settles it at once; a job still working on
# it finds its next conditional transition refused and stops).
TRANSITIONS = {
    INITIALIZED: {QUEUED, FAILED, CANCELLED},  # failed: expired unstarted (lifetime.expire_unstarted)
    QUEUED: {IN_PROCESS, FAILED, CANCELLED},
    # Back to queued only when the job met an infrastructure outage (object storage down) and the reaper
    # re-queues it (seecodes.runs.jobs.RunJob.requeue_for_outage): nothing of the run is kept but its debit.
    IN_PROCESS: {PROCESSING_REMOTE, FAILED, CANCELLED, QUEUED},
    PROCESSING_REMOTE: {SUCCEEDED, FAILED, CANCELLED, QUEUED},
    SUCCEEDED: set(),
    FAILED: set(),
    CANCELLED: set(),
}


def file_name_problems(files: list) -> dict[str, list[str]]:
    """Messages per offending index ("0", "1", … or "_list"), empty when every name is acceptable."""
    problems: dict[str, list[str]] = {}
    if not files:
        problems["_list"] = ["At least one file is required."]
    if len(files) > MAX_FILES:
        problems["_list"] = [f"At most {MAX_FILES} files."]
    seen = set()
    for index, name in enumerate(files):
        messages = _name_problems(name)
        if not messages and name in seen:
            messages = [f"Duplicate file name {name!r}."]
        if messages:
            problems[str(index)] = messages
        else:
            seen.add(name)  # only names that are strings: [{}] or [[]] would be unhashable
    return problems


def _name_problems(name) -> list[str]:
    if not isinstance(name, str) or not name:
        return ["A file name must be a non-empty string."]
    if not name.isascii() and any("\ud800" <= c <= "\udfff" for c in name):
        return ["A file name must be valid Unicode (no lone surrogates)."]
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return [f"A file name has at most {MAX_NAME_BYTES} bytes in UTF-8."]
    if name in (".", ".."):
        return ["A file name cannot be '.' or '..'."]
    if "/" in name or "\\" in name:
        return ["A file name cannot contain path separators."]
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return ["A file name cannot contain NUL or other control characters."]
    return []


def tokens_for_bytes(size: int) -> int:
    return math.ceil(size / BYTES_PER_TOKEN)


def estimate_input_tokens(file_sizes: dict[str, int], prompt: str | None) -> int:
    """Tokens the model will read: every file with its header, the user prompt and the fixed instructions."""
    tokens = PROMPT_OVERHEAD_TOKENS + tokens_for_bytes(len((prompt or "").encode("utf-8")))
    for name, size in file_sizes.items():
        tokens += FILE_HEADER_TOKENS + tokens_for_bytes(len(name.encode("utf-8"))) + tokens_for_bytes(size)
    return tokens


def price(base: float, per_token: float, tokens: int) -> int:
    """estimatedCredits = ceil(base + per_token × tokens); rounding guards against 12.5 + 0.5000000001."""
    return max(0, math.ceil(round(base + per_token * tokens, 9)))


def can_move(source: str, target: str) -> bool:
    return target in TRANSITIONS.get(source, set())
