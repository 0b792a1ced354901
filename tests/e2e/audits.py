"""
The quality tools of the browser tests: axe-core in the page, the Nu HTML checker on its source.
Both come from npm (package.json; ``npm ci``), as scripts/quality's Lighthouse does.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NU_CHECKER = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def _needs(path, what):
    if not Path(path).exists():
        pytest.fail(f"{what} is missing at {path}: run ./scripts/test, which installs it (README, 'Quick start').")


def run_axe(page):
    """axe-core's violations on the page as it is now (the page's context needs bypass_csp=True)."""
    _needs(AXE_SCRIPT, "axe-core (npm ci)")
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe_axe(violations):
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:10]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


def check_html(documents):
    """
    The Nu HTML checker's errors for each document: ``{name: html}`` -> ``{name: [message, ...]}``.
    One Java process for all of them (each start costs a second or two).
    """
    _needs(NU_CHECKER, "The Nu HTML checker (npm ci)")
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: the Nu HTML checker needs it (apt-get install default-jre-headless).")
    errors = {name: [] for name in documents}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for number, (name, html) in enumerate(documents.items()):
            path = Path(folder) / f"page-{number:02d}.html"
            path.write_text(html, encoding="utf-8")
            files[path.name] = name
        completed = subprocess.run(
            [java, "-jar", str(NU_CHECKER), "--errors-only", "--format", "json", *sorted(Path(folder).iterdir())],
            capture_output=True,
            text=True,
            timeout=120,
        )
    report = json.loads(completed.stderr or completed.stdout or '{"messages": []}')
    for message in report["messages"]:
        name = files.get(Path(message.get("url", "")).name)
        where = f"line {message.get('lastLine', '?')}" if "lastLine" in message else "document"
        text = f"{where}: {message.get('message', '')}"
        if message.get("extract"):
            text += f" | {message['extract'].strip()[:160]}"
        errors.setdefault(name or "?", []).append(text)
    return errors
