"""schema/ is the GraphQL face: it reaches the cache, sync and the event bus only through resolvers/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELOW_RESOLVERS = ("sync", "sources", "subscriptions", "sqlalchemy", "shims", "devnet")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_schema_imports_nothing_below_resolvers() -> None:
    found = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "schema").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in BELOW_RESOLVERS
    )
    assert found == []
