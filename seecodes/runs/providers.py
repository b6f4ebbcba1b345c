"""Model providers, chosen per catalog entry: the built-in offline report and OpenAI-compatible servers."""
import os
import threading
import time
from typing import Callable
from dataclasses import dataclass, field

import requests

from .. import logs, prometheus
from . import offline, rules

SYSTEM_PROMPT = ("You are SeeCodes, an assistant for a developer working on a Jira task. The user's files follow, "
                 "each under a '### File:' header. Answer the user's request about them in Markdown.")
MAX_BACKOFF_SECONDS = 30


class ProviderError(Exception):
    """A provider failure whose message is safe to show the client (never a key or a payload)."""


class Stopped(Exception):
    """The run was settled by someone else (a cancel, the reaper) while the provider worked: no attempt follows."""


@dataclass(frozen=True)
class Request:
    model_id: str
    files: list[tuple[str, bytes]]
    prompt: str | None
    deadline: float  # time.monotonic() value after which no new attempt starts
    estimated_input_tokens: int
    # Set by the job's heartbeat when the run was settled elsewhere (cancelled): checked before every attempt and
    # during backoff. An attempt in flight is not interrupted: requests cannot abort a blocking read safely.
    stop: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int


Note = Callable[[str], None]


class OfflineProvider:
    name = "offline"

    def __init__(self, config: dict):
        self.config = config

    def describe(self) -> str:
        return "offline (built-in report, no network)"

    def complete(self, request: Request, note: Note) -> Completion:
        started = time.monotonic()
        text = offline.build_report(request.files, request.prompt, request.model_id)
        prometheus.PROVIDER_LATENCY.labels(request.model_id, self.name).observe(time.monotonic() - started)
        return _counted(request, Completion(text, request.estimated_input_tokens,
                                            rules.tokens_for_bytes(len(text.encode("utf-8")))))


def user_message(files: list[tuple[str, bytes]], prompt: str | None) -> str:
    parts = [prompt.strip() if prompt and prompt.strip() else "Summarise these files."]
    for name, data in files:
        parts.append(f"### File: {name}\n```\n{data.decode('utf-8', errors='replace')}\n```")
    return "\n\n".join(parts)


class OpenAIProvider:
    """Chat completions over HTTP; retries 5xx, 429, timeouts and connection errors with exponential backoff."""

    name = "openai"

    def __init__(self, config: dict):
        self.base_url = config["baseUrl"].rstrip("/")
        self.model = config["model"]
        self.api_key_env = config.get("apiKeyEnv")
        self.timeout = float(config.get("timeoutSeconds", 120))
        self.max_retries = int(config.get("maxRetries", 2))
        self.backoff = float(config.get("retryBackoffSeconds", 1.0))
        self.max_tokens = config.get("maxOutputTokens")

    def describe(self) -> str:
        """For the run's log, which the tenant reads: the provider's URL is the operator's business."""
        return f"openai-compatible model {self.model!r}"

    def describe_for_operator(self) -> str:
        return f"openai-compatible {logs.mask_url_credentials(self.base_url)} model {self.model!r}"

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ProviderError(f"The provider's API key variable {self.api_key_env} is not set on the worker.")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def complete(self, request: Request, note: Note) -> Completion:
        body = {"model": self.model, "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_message(request.files, request.prompt)},
        ]}
        if self.max_tokens:
            body["max_tokens"] = int(self.max_tokens)
        headers = self._headers()
        attempts = self.max_retries + 1
        with requests.Session() as session:
            for attempt in range(1, attempts + 1):
                if request.stop.is_set():
                    raise Stopped()
                remaining = request.deadline - time.monotonic()
                if remaining <= 0:
                    raise ProviderError("The run's time ran out before the provider answered.")
                timeout = min(self.timeout, remaining)
                called = time.monotonic()
                try:
                    response = session.post(f"{self.base_url}/chat/completions", json=body, headers=headers,
                                            timeout=(timeout, timeout))
                except requests.Timeout:
                    problem = f"no answer within {timeout:g} s"
                except requests.ConnectionError:
                    problem = "connection failed"
                else:
                    if response.status_code == 200:
                        prometheus.PROVIDER_LATENCY.labels(request.model_id, self.name).observe(
                            time.monotonic() - called)
                        return _counted(request, self._parse(response, request))
                    if response.status_code < 500 and response.status_code != 429:
                        prometheus.PROVIDER_ERRORS.labels(request.model_id).inc()
                        raise ProviderError(f"The provider refused the request (HTTP {response.status_code}).")
                    problem = f"HTTP {response.status_code}"
                prometheus.PROVIDER_LATENCY.labels(request.model_id, self.name).observe(time.monotonic() - called)
                note(f"provider attempt {attempt}/{attempts} failed: {problem}")
                if attempt == attempts:
                    prometheus.PROVIDER_ERRORS.labels(request.model_id).inc()
                    raise ProviderError(f"The provider failed after {attempts} attempt(s): {problem}.")
                prometheus.PROVIDER_RETRIES.labels(request.model_id).inc()
                request.stop.wait(max(0.0, min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS,
                                               request.deadline - time.monotonic())))
        raise AssertionError("unreachable")

    def _parse(self, response, request: Request) -> Completion:
        try:
            document = response.json()
            text = document["choices"][0]["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not text")
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError("The provider answered with an unexpected document.")
        usage = document.get("usage") or {}
        input_tokens = usage.get("prompt_tokens")
        output_tokens = usage.get("completion_tokens")
        return Completion(
            text,
            input_tokens if isinstance(input_tokens, int) else request.estimated_input_tokens,
            output_tokens if isinstance(output_tokens, int) else rules.tokens_for_bytes(len(text.encode("utf-8"))),
        )


def _counted(request: Request, completion: Completion) -> Completion:
    prometheus.PROVIDER_TOKENS.labels(request.model_id, "input").inc(completion.input_tokens)
    prometheus.PROVIDER_TOKENS.labels(request.model_id, "output").inc(completion.output_tokens)
    return completion


PROVIDERS = {"offline": OfflineProvider, "openai": OpenAIProvider}
AI_KEY_VARIABLE = "SEECODES_AI_API_KEY"


def environment_config(environ=os.environ) -> dict | None:
    """The OpenAI-compatible service of SEECODES_AI_BASE_URL / SEECODES_AI_MODEL (/ SEECODES_AI_API_KEY), or None."""
    if not (environ.get("SEECODES_AI_BASE_URL") and environ.get("SEECODES_AI_MODEL")):
        return None
    config = {"baseUrl": environ["SEECODES_AI_BASE_URL"], "model": environ["SEECODES_AI_MODEL"]}
    if environ.get(AI_KEY_VARIABLE):  # local servers (Ollama, vLLM, llama.cpp) need no key
        config["apiKeyEnv"] = AI_KEY_VARIABLE
    for name, key in (("SEECODES_AI_TIMEOUT_SECONDS", "timeoutSeconds"), ("SEECODES_AI_MAX_RETRIES", "maxRetries")):
        if environ.get(name):
            config[key] = environ[name]
    return config


def resolve(provider: str, config: dict, environ=os.environ) -> tuple[str, dict]:
    """A catalog entry's provider as it runs here: "default" becomes the environment's service or offline."""
    if provider == "default":
        found = environment_config(environ)
        return ("openai", {**found, **(config or {})}) if found else ("offline", config or {})
    return provider, config or {}


def for_model(provider: str, config: dict):
    provider, config = resolve(provider, config)
    try:
        return PROVIDERS[provider](config)
    except KeyError as error:
        raise ProviderError(f"The model's provider is misconfigured ({error}).")
