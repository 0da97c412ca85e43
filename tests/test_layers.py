"""The architecture, enforced: imports flow handlers → bot → core; only checks/dns.py imports dnspython."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("checks", "knowledge", "incidents", "watch", "practices")


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).exists()]


@pytest.mark.parametrize("path", modules(*CORE), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_slack_or_the_wiring(path):
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in {"slack_sdk", "slack_bolt", "handlers"}, f"{path.name} imports {name}"
        assert top != "bot" or name == "bot.settings", f"{path.name} imports {name}: only bot.settings"


@pytest.mark.parametrize("path", modules(*CORE, "bot", "handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_checks_dns_imports_dnspython(path):
    if path == ROOT / "checks" / "dns.py":
        return
    assert not any(name == "dns" or name.startswith("dns.") for name in imports(path)), path


@pytest.mark.parametrize("path", modules(*CORE, "bot", "handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_starts_with_a_docstring(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not tree.body:  # an empty __init__.py
        return
    assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"


def test_only_settings_reads_the_environment():
    readers = [
        p.relative_to(ROOT)
        for p in modules(*CORE, "bot", "handlers")
        if "os.environ" in p.read_text(encoding="utf-8") or "os.getenv" in p.read_text(encoding="utf-8")
    ]
    assert readers == [Path("bot/settings.py")], readers
