"""The storage key layout of runs: inputs under runs/<runId>/input/, results under runs/<runId>/result/."""

OUTPUT_NAME = "output.md"
LOG_NAME = "log.txt"
ZIP_NAME = "result.zip"


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}/"


def input_prefix(run_id: str) -> str:
    return f"runs/{run_id}/input/"


def input_key(run_id: str, name: str) -> str:
    return input_prefix(run_id) + name


def result_key(run_id: str, name: str) -> str:
    return f"runs/{run_id}/result/{name}"


def split_input_key(key: str) -> tuple[str, str] | None:
    """(runId, file name) of an input key, None for any other key."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == "runs" and parts[2] == "input" and parts[1] and parts[3]:
        return parts[1], parts[3]
    return None
