"""docs/architecture.md draws the real layout: every package and module it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "incidentctl"


def _tree_entries() -> list[str]:
    """The paths the layout block names, e.g. 'cli/', 'cli/views/', 'cli/report.py'."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("```", 2)[1]
    paths, parents = [], {}
    for line in block.splitlines()[2:]:  # past the opening fence's line and the root
        m = re.match(r"^( +)([a-z_]+(?:/|\.py))\s", line + " ")
        if not m:
            continue
        depth = len(m.group(1))
        parent = next((p for d, p in sorted(parents.items(), reverse=True) if d < depth), "")
        parents = {d: p for d, p in parents.items() if d < depth}
        path = parent + m.group(2)
        if path.endswith("/"):
            parents[depth] = path
        paths.append(path)
    return paths


def test_every_named_package_and_module_exists():
    entries = _tree_entries()
    assert "cli/views/" in entries and "services/announce.py" in entries
    missing = [p for p in entries if not (PACKAGE / p).exists()]
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"


def test_every_package_is_drawn():
    drawn = {p for p in _tree_entries() if p.endswith("/")}
    actual = {
        f"{p.relative_to(PACKAGE).as_posix()}/"
        for p in PACKAGE.rglob("*")
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert actual <= drawn, f"packages missing from docs/architecture.md: {actual - drawn}"


def test_exit_codes_are_decided_in_one_place():
    """Commands hand their results to cli/report.py; no other module picks an exit code."""
    import ast

    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            coded = name in ("typer.Exit", "Exit") and (node.args or node.keywords)
            if (coded and rel != "cli/report.py") or (name == "sys.exit" and rel != "cli/app.py"):
                offenders.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert not offenders, offenders
