"""The ``seecodes`` terminal CLI (``python -m seecodes_client``) for the editor's side of a Jira task."""
from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TextIO

from . import errors
from .indexing import SyncReport
from .launch import parse_launch_url
from .store import Store, config_dir
from .tasks import TaskClient, save_chunks
from .transport import PublicRoutes, Transport
from .trust import choose_backend

EXIT_OK = 0
EXIT_CLIENT_ERROR = 2    # bad usage, or the client refused locally (no open task, a used launch code, …)
EXIT_REFUSED = 3         # the server refused the request (4xx)
EXIT_SERVER_FAILURE = 4  # the server failed or did not answer (5xx, connection), or the run failed
EXIT_INTERRUPTED = 130   # Ctrl-C, as shells report SIGINT
PROGRESS_FIELDS = ("ready", "left", "risks", "logs", "progress", "confidence")


def exit_code(error: BaseException) -> int:
    if isinstance(error, errors.LocalRefusal):
        return EXIT_CLIENT_ERROR
    if isinstance(error, errors.ApiError) and error.status is not None and 400 <= error.status < 500:
        return EXIT_REFUSED
    return EXIT_SERVER_FAILURE


class UsageError(Exception):
    """A command line argparse cannot read (raised instead of argparse's exit, so --json can answer it)."""


class Reported(Exception):
    """An error already written into the command's JSON document; only the exit code is left to give."""

    def __init__(self, error: BaseException, code: int):
        super().__init__(str(error))
        self.code = code


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


class Output:
    """Human text by default; with --json exactly one JSON document on stdout per command."""

    def __init__(self, as_json: bool, stdout: TextIO, stderr: TextIO):
        self.as_json, self.stdout, self.stderr = as_json, stdout, stderr

    def result(self, document: Any, text: str | None = None) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        elif text is not None:
            self.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        self.stdout.flush()

    def stream(self, document: dict, field: str, chunks: Iterable[bytes | str]) -> int:
        """Write a large text as it arrives, in bounded memory: as is, or with --json as ``field`` of
        ``document``, the string written piece by piece, escaped. Answers the characters written.

        With --json, ``ok`` comes last, so that a failure in mid-stream still closes the one document
        (``ok: false`` with the error's fields) instead of starting a second one.
        """
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        written = 0
        if self.as_json:
            opening = json.dumps({**{k: v for k, v in document.items() if k != "ok"}, field: ""}, indent=2,
                                 ensure_ascii=False)
            self.stdout.write(opening[: opening.rindex('""') + 1])
        try:
            for chunk in chunks:
                written += self._piece(decoder.decode(chunk) if isinstance(chunk, bytes) else chunk)
            written += self._piece(decoder.decode(b"", final=True))
        except (errors.SeeCodesError, KeyboardInterrupt) as error:
            if not self.as_json:
                raise
            failure = error if isinstance(error, errors.SeeCodesError) else errors.LocalRefusal(
                "Interrupted.", code="interrupted")
            closing = {k: v for k, v in failure.to_dict().items()}
            self.stdout.write('",\n' + json.dumps(closing, indent=2, ensure_ascii=False)[2:] + "\n")
            self.stdout.flush()
            raise Reported(failure, EXIT_INTERRUPTED if isinstance(error, KeyboardInterrupt) else exit_code(error))
        if self.as_json:
            self.stdout.write('",\n  "ok": true\n}\n')
        self.stdout.flush()
        return written

    def _piece(self, text: str) -> int:
        if text:
            self.stdout.write(json.dumps(text, ensure_ascii=False)[1:-1] if self.as_json else text)
            self.stdout.flush()
        return len(text)

    def note(self, text: str) -> None:
        """Progress for humans, on stderr (never mixed into --json output)."""
        if not self.as_json:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    def error(self, error: BaseException, **extra: Any) -> None:
        if isinstance(error, errors.SeeCodesError):
            document = error.to_dict()
            if isinstance(error, (errors.RunFailed, errors.RunTimeout)):
                document["runId"] = error.run_id
        else:
            document = {"ok": False, "error": "client_error", "detail": str(error)}
        document.update(extra)
        if self.as_json:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            self.stdout.flush()
        else:
            self.stderr.write(f"seecodes: {error}\n")
            self.stderr.flush()


class App:
    def __init__(self, args: argparse.Namespace, out: Output, env: Mapping[str, str]):
        self.args, self.out, self.env = args, out, env
        self.store = Store(Path(args.config_dir) if args.config_dir else config_dir(env))
        self.base_url_option = args.base_url or env.get("SEECODES_BASE_URL")

    def task_client(self) -> TaskClient:
        base_url, permit = self.store.load_session()
        if permit.expires_at and permit.expires_at < time.time():
            raise errors.LocalRefusal("The task permit has expired: open a new launch link from Jira.",
                                      code="permit_expired")
        return TaskClient(base_url, permit, timeout=self.args.http_timeout)

    def base_url(self) -> str:
        if self.base_url_option:
            return self.base_url_option.rstrip("/")
        return self.store.load_session()[0]

    # --- commands ----------------------------------------------------------------------------------------

    def open(self) -> int:
        link = parse_launch_url(self.args.url)
        backend = choose_backend(link, self.base_url_option, self.store.trusted_backends(),
                                 trust_link=self.args.trust_link)
        client = TaskClient.exchange(backend, link.code, link.project_id, link.task_id, ledger=self.store.ledger(),
                                     timeout=self.args.http_timeout)
        self.store.remember_backend(backend)
        path = self.store.save_session(backend, client.permit)
        context = client.context()
        permit = client.permit
        self.out.note(f"Opened {permit.project_id}/{permit.task_id} on {backend}; permit saved to {path} "
                      f"(valid until {_when(permit.expires_at)}).")
        self.out.result({"ok": True, "baseUrl": backend, "projectId": permit.project_id, "taskId": permit.task_id,
                         "expiresAt": permit.expires_at, "context": context}, _context_text(context))
        return EXIT_OK

    def context(self) -> int:
        context = self.task_client().context()
        self.out.result({"ok": True, "context": context}, _context_text(context))
        return EXIT_OK

    def models(self) -> int:
        routes = PublicRoutes()
        routes.transport = Transport(self.base_url(), timeout=self.args.http_timeout)
        models = routes.models()
        width = max([len(str(m.get("id"))) for m in models] + [10])
        lines = [f"{m.get('id')!s:<{width}}  {_pricing_text(m.get('pricing'))}; context {_count(m.get('maxContext'))} "
                 f"tokens" + (f"; {m['description']}" if m.get("description") else "") for m in models]
        self.out.result({"ok": True, "models": models}, "\n".join(lines) or "The catalog has no models.")
        return EXIT_OK

    def run(self) -> int:
        client = self.task_client()
        prompt = self.args.prompt
        if self.args.prompt_file:
            prompt = Path(self.args.prompt_file).read_text()
        state: dict[str, Any] = {"runId": None, "start": None}

        def announce(run_id: str) -> None:
            state["runId"] = run_id
            self.out.note(f"run {run_id}")

        try:
            result = client.run(self.args.model, prompt, self.args.files, timeout=self.args.wait_timeout,
                                on_status=lambda d: self.out.note(_status_line(d)), on_run_id=announce,
                                on_started=lambda answer: state.update(start=answer), wait=not self.args.no_wait,
                                fetch_output=False)
            if self.args.no_wait:
                self.out.result({"ok": True, "runId": result.run_id, "start": result.start}, result.run_id)
                return EXIT_OK
            if self.args.zip:
                client.result_zip(result.run_id, self.args.zip)
                self.out.note(f"result zip saved to {self.args.zip}")
            self.out.stream({"ok": True, "runId": result.run_id, "status": result.status, "start": result.start},
                            "output", client.iter_output(result.run_id))
        except KeyboardInterrupt:
            return self.interrupted(state)
        return EXIT_OK

    def interrupted(self, state: Mapping[str, Any]) -> int:
        """Ctrl-C during `run`: stopping the CLI does not stop a started run, so say what goes on."""
        run_id, start = state["runId"], state["start"]
        if run_id is None:
            detail = "Interrupted before a run was created; nothing was started or charged."
        elif start is None:
            detail = (f"Interrupted before run {run_id} was started, or while its start was on its way: "
                      f"`seecodes status {run_id}` tells (initialized means not started and not charged).")
        else:
            credits = f" ({start['estimatedCredits']} credits estimated)" if start.get("estimatedCredits") else ""
            if self.confirm(f"\nInterrupted: run {run_id} goes on on the server and is charged{credits}. "
                            f"Cancel it (its credits are refunded)? [y/N] "):
                cancelled = self.task_client().cancel(run_id)
                detail = (f"Run {run_id} cancelled; {cancelled.get('refundedCredits', 0)} credits refunded.")
                self.out.result({"ok": False, "error": "interrupted", "detail": detail, "runId": run_id,
                                 "started": True, "cancelled": cancelled}, detail)
                return EXIT_INTERRUPTED
            detail = (f"Interrupted: run {run_id} goes on on the server and is charged{credits}; stopping the "
                      f"CLI does not stop it (a failed run is refunded). Follow it with `seecodes status {run_id} "
                      f"--follow`, then read it with `seecodes output {run_id}`, or stop it with "
                      f"`seecodes cancel {run_id}`.")
        if self.out.as_json:
            self.out.result({"ok": False, "error": "interrupted", "detail": detail, "runId": run_id,
                             "started": start is not None})
        else:
            self.out.stderr.write(f"\nseecodes: {detail}\n")
            self.out.stderr.flush()
        return EXIT_INTERRUPTED

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; never when stdin is not a terminal or the output is --json (scripts)."""
        if self.out.as_json or not sys.stdin.isatty():
            return False
        self.out.stderr.write(question)
        self.out.stderr.flush()
        try:
            return sys.stdin.readline().strip().lower() in ("y", "yes")
        except (KeyboardInterrupt, EOFError):
            return False

    def cancel(self) -> int:
        answer = self.task_client().cancel(self.args.run_id)
        self.out.result({"ok": True, **answer}, f"{answer['runId']}: cancelled; "
                        f"{answer.get('refundedCredits', 0)} credits refunded")
        return EXIT_OK

    def status(self) -> int:
        client = self.task_client()
        if self.args.follow:
            document = client.wait(self.args.run_id, timeout=self.args.wait_timeout,
                                   on_status=lambda d: self.out.note(_status_line(d)))
        else:
            document = client.status(self.args.run_id)
        self.out.result({"ok": True, "runId": self.args.run_id, "status": document},
                        f"{self.args.run_id}: {_status_line(document)}")
        return EXIT_OK if document.get("status") != "failed" else EXIT_SERVER_FAILURE

    def output(self) -> int:
        client = self.task_client()
        if self.args.follow:
            document = client.wait(self.args.run_id, timeout=self.args.wait_timeout,
                                   on_status=lambda d: self.out.note(_status_line(d)))
            if document["status"] != "succeeded":
                raise errors.RunFailed(self.args.run_id, document.get("error") or f"The run ended {document['status']}.")
        return self.deliver("output", client.iter_output(self.args.run_id))

    def logs(self) -> int:
        client = self.task_client()
        pieces = client.follow_logs(self.args.run_id) if self.args.follow else client.iter_logs(self.args.run_id)
        return self.deliver("logs", pieces)

    def deliver(self, field: str, pieces: Iterable[bytes | str]) -> int:
        """Stream a run's output or log to stdout, or with --out into a file."""
        document = {"ok": True, "runId": self.args.run_id}
        if not self.args.out:
            self.out.stream(document, field, pieces)
            return EXIT_OK
        target = _save_text(pieces, Path(self.args.out))
        self.out.note(f"{field} of {self.args.run_id} saved to {target}")
        self.out.result({**document, "savedTo": str(target), "bytes": target.stat().st_size})
        return EXIT_OK

    def progress_show(self) -> int:
        document = self.task_client().progress()
        self.out.result({"ok": True, "progress": document}, _progress_text(document))
        return EXIT_OK

    def progress_push(self) -> int:
        client = self.task_client()
        document: dict[str, Any] = {}
        if self.args.merge:
            stored = client.progress() or {}
            document = {name: stored[name] for name in PROGRESS_FIELDS if stored.get(name) is not None}
        if self.args.from_json:
            source = sys.stdin.read() if self.args.from_json == "-" else Path(self.args.from_json).read_text()
            try:
                given = json.loads(source)
            except ValueError as error:
                raise errors.LocalRefusal(f"--from-json is not JSON: {error}", code="bad_json")
            if not isinstance(given, dict):
                raise errors.LocalRefusal("--from-json must hold a JSON object.", code="bad_json")
            document.update(given)
        for option, name in (("ready", "ready"), ("left", "left"), ("risk", "risks"), ("log", "logs")):
            if getattr(self.args, option):
                document[name] = getattr(self.args, option)
        for name in ("progress", "confidence"):
            if getattr(self.args, name) is not None:
                document[name] = getattr(self.args, name)
        client.save_progress(document)
        if self.args.merge:
            self.out.note(f"progress of {client.permit.task_id} saved (the fields not given were kept)")
        else:
            self.out.note(f"progress of {client.permit.task_id} replaced as a whole: fields not given are now "
                          "empty (--merge keeps them)")
        self.out.result({"ok": True, "progress": document}, _progress_text(client.progress()))
        return EXIT_OK

    def index_sync(self) -> int:
        client = self.task_client()
        root = Path(self.args.dir)
        if not root.is_dir():
            raise errors.LocalRefusal(f"{root} is not a folder.", code="not_a_folder")
        base_url, project_id = client.transport.base_url, client.permit.project_id
        previous = self.store.previous_index_paths(base_url, project_id, root)
        report: SyncReport = client.sync_index(root, exclude=self.args.exclude or (), previous_paths=previous)
        self.store.save_index_paths(base_url, project_id, root, report.paths)
        text = (f"{report.files} files: {report.unchanged} unchanged, {report.reused} reused from the index, "
                f"{report.uploaded} uploaded, {report.deleted} deleted"
                + (f"; index holds {report.total_files} files" if report.total_files is not None else "")
                + (f"; {len(report.skipped)} skipped (paths the index cannot hold)" if report.skipped else ""))
        self.out.result({"ok": True, **report.to_dict()}, text)
        return EXIT_OK


def _save_text(pieces: Iterable[bytes | str], target: Path) -> Path:
    return save_chunks((p.encode("utf-8") if isinstance(p, str) else p for p in pieces), target)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _pricing_text(pricing: Any) -> str:
    """``{"base": 1, "per_token": 0.001}`` as a person reads a price."""
    if not isinstance(pricing, Mapping):
        return "pricing unknown"
    base = pricing.get("base")
    per_token = pricing.get("per_token", pricing.get("perToken"))
    parts = []
    if isinstance(base, (int, float)):
        parts.append(f"{base:g} credits per run")
    if isinstance(per_token, (int, float)):
        parts.append(f"{per_token * 1000:g} credits per 1,000 input tokens")
    return " + ".join(parts) or "pricing unknown"


def _when(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch else "unknown"


def _status_line(document: Mapping[str, Any]) -> str:
    line = f"{document.get('status')} (updated {document.get('updatedAt', '?')})"
    if document.get("error"):
        line += f": {document['error']}"
    return line


def _context_text(context: Mapping[str, Any] | None) -> str:
    if not context:
        return "No Jira context was stored with this task."
    inner = context.get("context") or {}
    lines = []
    if isinstance(inner, dict):
        if inner.get("title"):
            lines.append(f"# {inner['title']}")
        if inner.get("descriptionMd"):
            lines += ["", str(inner["descriptionMd"])]
        rest = {k: v for k, v in inner.items() if k not in ("title", "descriptionMd") and v not in (None, [], {})}
        if rest:
            lines += ["", json.dumps(rest, indent=2, ensure_ascii=False)]
    else:
        lines.append(json.dumps(inner, indent=2, ensure_ascii=False))
    if context.get("initialTai"):
        lines += ["", "initial editor state: " + json.dumps(context["initialTai"], ensure_ascii=False)]
    return "\n".join(lines)


def _progress_text(document: Mapping[str, Any] | None) -> str:
    if not document:
        return "No progress stored for this task."
    lines = [f"progress {document.get('progress') or '-'}, confidence {document.get('confidence') or '-'}, "
             f"updated {document.get('updatedAt', '?')}"]
    for title, name in (("Ready", "ready"), ("Left", "left"), ("Risks", "risks"), ("Log", "logs")):
        if document.get(name):
            lines.append(f"{title}:")
            lines += [f"  - {item}" for item in document[name]]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="seecodes",
                                  description="SeeCodes from a terminal: open a Jira task from its launch link, run "
                                              "the AI on files, follow runs, push progress, sync the project index.",
                                  epilog="Exit codes: 0 success, 2 client error, 3 refused by the server, "
                                         "4 server failure or failed run.")
    top.add_argument("--json", action="store_true", help="one JSON document on stdout (errors too)")
    top.add_argument("--config-dir", help="where the permit is kept (default $XDG_CONFIG_HOME/seecodes)")
    top.add_argument("--base-url", help="the backend you trust with the launch code, permit and files (default "
                                        "$SEECODES_BASE_URL, else the one of your last open)")
    top.add_argument("--http-timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    opened = commands.add_parser("open", help="exchange a launch link's one-time code and keep the task permit")
    opened.add_argument("url", help="vscode://…?code=… or https://…/v1/launch?p=…&t=…&c=…")
    opened.add_argument("--trust-link", action="store_true",
                        help="send the code to the backend the link names although you have not configured it "
                             "(it is remembered as trusted)")
    opened.set_defaults(handler=App.open)
    commands.add_parser("context", help="the Jira task context").set_defaults(handler=App.context)
    commands.add_parser("models", help="the model catalog").set_defaults(handler=App.models)

    run = commands.add_parser("run", help="upload files, start a run, follow it and print its output")
    run.add_argument("--model", required=True, help="a model id of `seecodes models`")
    prompt = run.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", help="the instruction for the model")
    prompt.add_argument("--prompt-file", help="read the instruction from a file")
    run.add_argument("files", nargs="+", metavar="FILE", help="input files (sent under their base names)")
    run.add_argument("--no-wait", action="store_true", help="print the run id once started and return")
    run.add_argument("--zip", metavar="PATH", help="also save the result zip (output and log) there")
    run.set_defaults(handler=App.run)

    for name, handler, text in (("status", App.status, "a run's status"), ("output", App.output, "a run's output"),
                                ("logs", App.logs, "a run's log")):
        command = commands.add_parser(name, help=text)
        command.add_argument("run_id", metavar="RUN")
        command.add_argument("--follow", action="store_true", help="keep polling until the run settles")
        if name != "status":
            command.add_argument("--out", metavar="PATH", help="write it to this file instead of stdout")
        command.set_defaults(handler=handler)

    cancel = commands.add_parser("cancel", help="stop a run that has not settled; its credits are refunded")
    cancel.add_argument("run_id", metavar="RUN")
    cancel.set_defaults(handler=App.cancel)

    progress = commands.add_parser("progress", help="the task's ready / left / risk document")
    progress_commands = progress.add_subparsers(dest="progress_command", required=True, metavar="ACTION")
    progress_commands.add_parser("show", help="print the stored document").set_defaults(handler=App.progress_show)
    push = progress_commands.add_parser(
        "push", help="replace the stored document as a whole (fields not given become empty; --merge keeps them)",
        description="Replaces the task's whole progress document: a field you do not give is cleared. With "
                    "--merge, the stored fields you do not give are kept.")
    push.add_argument("--merge", action="store_true", help="keep the stored fields that are not given")
    push.add_argument("--ready", action="append", metavar="LINE", help="a done item (repeatable)")
    push.add_argument("--left", action="append", metavar="LINE", help="remaining work (repeatable)")
    push.add_argument("--risk", action="append", metavar="LINE", help="a risk flag (repeatable)")
    push.add_argument("--log", action="append", metavar="LINE", help="an activity line (repeatable)")
    push.add_argument("--progress", help='a progress label such as "67%%"')
    push.add_argument("--confidence", help="a confidence label such as Medium")
    push.add_argument("--from-json", metavar="FILE", help="start from a JSON document (- for stdin)")
    push.set_defaults(handler=App.progress_push)

    index = commands.add_parser("index", help="the project's reusable file index")
    index_commands = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    sync = index_commands.add_parser("sync", help="hash a folder, reuse what the index has, upload the rest")
    sync.add_argument("dir", metavar="DIR")
    sync.add_argument("--exclude", action="append", metavar="GLOB", help="skip matching paths (repeatable)")
    sync.set_defaults(handler=App.index_sync)

    for command in (run, *[commands.choices[n] for n in ("status", "output", "logs")]):
        command.add_argument("--timeout", dest="wait_timeout", type=float, default=1800.0, metavar="SECONDS",
                             help="give up following after this many seconds (default 1800)")
    return top


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
         env: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = parser().parse_args(argv)
    except UsageError as error:
        # Before "--", a --json anywhere asks for JSON: the parse failed, so args cannot say it.
        as_json = "--json" in (argv[: argv.index("--")] if "--" in argv else argv)
        if as_json:
            Output(True, stdout, stderr).result({"ok": False, "error": "usage", "detail": str(error),
                                                 "status": None, "requestId": None})
        else:
            stderr.write(f"{parser().format_usage()}{error}\n")
        return EXIT_CLIENT_ERROR
    out = Output(args.json, stdout, stderr)
    try:
        return args.handler(App(args, out, os.environ if env is None else env))
    except Reported as reported:
        return reported.code
    except errors.SeeCodesError as error:
        out.error(error)
        return exit_code(error)
    except OSError as error:  # an unreadable input file, a config folder we cannot write
        out.error(errors.LocalRefusal(str(error), code="local_error"))
        return EXIT_CLIENT_ERROR
    except KeyboardInterrupt:
        out.error(errors.LocalRefusal("Interrupted.", code="interrupted"))
        return EXIT_INTERRUPTED


def main_exit() -> None:
    """The ``seecodes`` console script."""
    sys.exit(main())
