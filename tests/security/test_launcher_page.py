"""GET /v1/launch: escapes or refuses every echoed parameter, strict headers, a fallback link, no `k`."""
import html
import re

import pytest

from seecodes import ids

from ..helpers import assert_envelope

CODE = ids.new_secret("sc_launch_")
GOOD = {"p": "AUTH", "t": "AUTH-128", "c": CODE}
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</title><script>alert(1)</script>",
    "AUTH\"onmouseover=\"alert(1)",
]
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)

# The page reads no table: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def _page(client, **query):
    return client.get("/v1/launch", query_string={**GOOD, **query})


def _assert_inert(response, payload):
    """Refused with 400, or served with the payload never appearing as markup."""
    if response.status_code == 400:
        assert_envelope(response, 400)
        return
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert payload not in text
    assert len(SCRIPT_TAG.findall(text)) == 1
    assert "onerror" not in text and "onload" not in text and "onmouseover" not in text


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("parameter", ["p", "t", "c", "baseUrl", "statusLanguage"])
def test_script_payloads_are_escaped_or_refused(client, parameter, payload):
    _assert_inert(_page(client, **{parameter: payload}), payload)


@pytest.mark.parametrize("parameter", ["p", "t", "c", "statusLanguage"])
def test_markup_in_identifiers_is_refused(client, parameter):
    assert_envelope(_page(client, **{parameter: "<script>alert(1)</script>"}), 400)


def test_the_page_is_never_cached(client):
    assert _page(client).headers["Cache-Control"] == "no-store"


def test_the_page_sends_no_referrer(client):
    assert _page(client).headers["Referrer-Policy"] == "no-referrer"


def test_the_csp_allows_only_the_pages_own_nonced_script(client):
    response = _page(client)
    policy = {d.strip().split(" ", 1)[0]: d.strip() for d in response.headers["Content-Security-Policy"].split(";")}
    assert policy["default-src"] == "default-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    nonce = re.fullmatch(r"script-src 'nonce-([A-Za-z0-9_-]+)'", policy["script-src"]).group(1)
    scripts = SCRIPT_TAG.findall(response.get_data(as_text=True))
    assert scripts == [f'<script nonce="{nonce}">']


def test_each_page_gets_a_fresh_nonce(client):
    first = _page(client).headers["Content-Security-Policy"]
    assert _page(client).headers["Content-Security-Policy"] != first


def test_the_page_shows_a_fallback_link_into_the_editor(client):
    text = _page(client).get_data(as_text=True)
    hrefs = [html.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]+)"', text)]
    assert f"vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code={CODE}" in hrefs


def test_the_page_is_html(client):
    response = _page(client)
    assert response.status_code == 200
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("missing", ["p", "t", "c"])
def test_a_missing_parameter_is_400(client, missing):
    query = {k: v for k, v in GOOD.items() if k != missing}
    body = assert_envelope(client.get("/v1/launch", query_string=query), 400)
    assert missing in body["errors"]


@pytest.mark.parametrize(
    "parameter,value",
    [("p", ""), ("p", "AU TH"), ("t", "AUTH/128"), ("t", "-x"), ("c", "not-a-code"), ("c", "sc_launch_"),
     ("c", "sc_launch_a b"), ("p", "A" * 300)],
)
def test_a_malformed_parameter_is_400(client, parameter, value):
    assert_envelope(_page(client, **{parameter: value}), 400)


def test_the_old_k_parameter_is_not_accepted(client):
    assert_envelope(client.get("/v1/launch", query_string={"p": "AUTH", "t": "AUTH-128", "k": CODE}), 400)


def test_the_old_k_parameter_is_refused_even_beside_c(client):
    assert_envelope(_page(client, k=CODE), 400)


def test_base_url_is_passed_on_when_it_is_the_backends_own(app, client):
    app.config["SEECODES_PUBLIC_BASE_URL"] = "https://dev.seecodes.com"
    text = html.unescape(_page(client, baseUrl="https://dev.seecodes.com").get_data(as_text=True))
    assert "baseUrl=https%3A%2F%2Fdev.seecodes.com" in text


def test_base_url_is_passed_on_when_it_is_a_configured_alias(app, client):
    app.config["SEECODES_PUBLIC_URL_ALIASES"] = ["https://eu.seecodes.com"]
    text = html.unescape(_page(client, baseUrl="https://eu.seecodes.com/").get_data(as_text=True))
    assert "baseUrl=https%3A%2F%2Feu.seecodes.com" in text


@pytest.mark.parametrize(
    "base_url", ["https://evil.example", "http://127.0.0.1:8000.evil.example", "http://127.0.0.1:8000@evil.example"]
)
def test_a_foreign_base_url_is_dropped(client, base_url):
    response = _page(client, baseUrl=base_url)
    assert response.status_code == 200
    assert "baseUrl" not in response.get_data(as_text=True)
    assert "evil" not in response.get_data(as_text=True)


def test_status_language_is_passed_on(client):
    text = html.unescape(_page(client, statusLanguage="pt-BR").get_data(as_text=True))
    assert "statusLanguage=pt-BR" in text

