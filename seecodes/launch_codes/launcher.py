"""The HTTPS launcher page: redirects into vscode:// and shows a clickable fallback link.

Everything echoed is HTML-escaped; the page runs only its own nonce'd script.
"""
import secrets
from urllib.parse import quote, urlencode

from flask import current_app
from markupsafe import escape

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Open {task} in your editor</title>
<style nonce="{nonce}">body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#172b4d}}
a.button{{display:inline-block;padding:.6rem 1rem;background:#0c66e4;color:#fff;border-radius:4px;text-decoration:none}}</style>
</head>
<body>
<h1>Opening {task} in your editor</h1>
<p>Project <strong>{project}</strong>, task <strong>{task}</strong>.</p>
<p>If your editor does not open by itself, use this link:</p>
<p><a class="button" id="open-editor" href="{url}">Open in VS Code</a></p>
<p>The link works once. Cursor users: open the same link from Cursor's URL handler.</p>
<script nonce="{nonce}">window.location.replace(document.getElementById("open-editor").href);</script>
</body>
</html>
"""


def allowed_base_url(candidate: str | None) -> str | None:
    """Pass baseUrl on only when it is one of this backend's own configured public URLs."""
    if not candidate:
        return None
    candidate = candidate.rstrip("/")
    own = [current_app.config["SEECODES_PUBLIC_BASE_URL"], *current_app.config["SEECODES_PUBLIC_URL_ALIASES"]]
    return candidate if candidate in own else None


def editor_url(project_id: str, task_id: str, code: str, base_url: str | None, status_language: str | None) -> str:
    extension = current_app.config["SEECODES_VSCODE_EXTENSION_ID"]
    query = {"code": code}
    if base_url:
        query["baseUrl"] = base_url
    if status_language:
        query["statusLanguage"] = status_language
    return (
        f"vscode://{extension}/project/{quote(project_id, safe='')}/task/{quote(task_id, safe='')}?{urlencode(query)}"
    )


def render(project_id: str, task_id: str, code: str, base_url: str | None, status_language: str | None):
    """Return (html, headers)."""
    nonce = secrets.token_urlsafe(16)
    url = editor_url(project_id, task_id, code, allowed_base_url(base_url), status_language)
    html = PAGE.format(nonce=nonce, project=escape(project_id), task=escape(task_id), url=escape(url))
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        ),
    }
    return html, headers
