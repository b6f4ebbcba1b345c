"""The offline provider's report: a deterministic summary of the inputs and the prompt, no model involved."""
import re

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[([ xX])\]\s+(.*\S)\s*$")
MARKER = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
MAX_ITEMS = 50
MAX_LINE_CHARS = 200


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS - 1] + "…"


def _section(title: str, items: list[str], empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        lines.append(empty)
    else:
        lines.extend(items[:MAX_ITEMS])
        if len(items) > MAX_ITEMS:
            lines.append(f"- … and {len(items) - MAX_ITEMS} more")
    lines.append("")
    return lines


def build_report(files: list[tuple[str, bytes]], prompt: str | None, model_id: str) -> str:
    """Files and sizes, headings, checkboxes done and open, TODO-like lines, and the prompt, in input order."""
    table = ["| file | bytes | lines |", "|---|---:|---:|"]
    headings, done, open_items, markers = [], [], [], []
    for name, data in files:
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        cell = name.replace("|", "\\|")
        table.append(f"| {cell} | {len(data)} | {len(lines)} |")
        fenced = False
        for number, line in enumerate(lines, start=1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            heading = None if fenced else HEADING.match(line)
            if heading:
                headings.append(f"- {name}:{number} {'  ' * (len(heading.group(1)) - 1)}{_clip(heading.group(2))}")
            checkbox = CHECKBOX.match(line)
            if checkbox:
                found = done if checkbox.group(1) in "xX" else open_items
                found.append(f"- {name}:{number} {_clip(checkbox.group(2))}")
            if MARKER.search(line):
                markers.append(f"- {name}:{number} {_clip(line)}")
    report = [
        "# Offline report",
        "",
        f"> Built by the SeeCodes offline provider for model `{model_id}`: no AI model was called. Everything",
        "> below is counted directly from the uploaded files and the prompt.",
        "",
        "## Prompt",
        "",
        _clip(prompt) if prompt and prompt.strip() else "(no prompt)",
        "",
        "## Files",
        "",
        *table,
        "",
        *_section("Headings", headings, "No headings."),
        *_section(f"Tasks done ({len(done)})", done, "None."),
        *_section(f"Tasks open ({len(open_items)})", open_items, "None."),
        *_section(f"TODO / FIXME lines ({len(markers)})", markers, "None."),
    ]
    return "\n".join(report).rstrip() + "\n"
