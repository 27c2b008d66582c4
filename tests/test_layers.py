"""The layers of docs/architecture.md, as the imports show them: each layer only looks down.

Every `import` in a module counts, those inside functions too, so a late import cannot hide an
arrow that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The modules below everything: the shapes and protocols both sides meet in, and plumbing.
SHARED = ("bot.messages", "bot.ports", "bot.clock", "bot.config", "bot.config_reader", "bot.logs")
#: What each layer may import from the bot, besides itself and `rules`.
MAY_IMPORT = {
    "bot.store": ("bot.config",),
    "bot.delivery": ("bot.store", *SHARED),
    "bot.service": ("bot.store", "bot.delivery", *SHARED),
    "bot.transports": SHARED,
    "bot.ports": ("bot.messages",),
    "bot.messages": (),
    "bot.clock": (),
    "bot.config": ("bot.config_reader",),
    "bot.config_reader": (),
    "bot.logs": (),
}
#: Third-party packages a layer must not touch: SQL stays in bot/store, platforms in transports.
SQL = ("sqlalchemy.orm", "sqlalchemy.sql", "sqlalchemy.dialects")
PLATFORMS = ("telegram", "slack_bolt", "slack_sdk", "aiohttp")
MAY_NOT_USE = {
    "bot.service": (*SQL, *PLATFORMS),
    "bot.delivery": (*SQL, *PLATFORMS),
    "bot.transports": ("sqlalchemy", "sqlmodel", "alembic"),
}


def modules() -> list[tuple[str, Path]]:
    """Every module of bot/ (migrations aside) by dotted name."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def imports(path: Path) -> set[str]:
    """The modules a file imports, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    """The layer a module belongs to; None for the composition root and its runners."""
    for layer in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_bot_module(name: str) -> bool:
    return name == "bot" or name.startswith("bot.")


@pytest.mark.parametrize("module,path", modules(), ids=[m for m, _ in modules()])
def test_each_layer_only_looks_down(module: str, path: Path) -> None:
    layer = layer_of(module)
    if layer is None:
        return  # bot.app, bot.serve, bot.console, bot.cli, bot.demo: they wire everything
    allowed = (layer, *MAY_IMPORT[layer])
    wrong = sorted(
        name
        for name in imports(path)
        if is_bot_module(name)
        and name != "bot"
        and not within(name, allowed)
        # `from bot.x import y` lists both `bot.x` and `bot.x.y`; the module decides
        and not within(name.rsplit(".", 1)[0], allowed)
    )
    assert not wrong, f"{module} ({layer}) reaches {wrong}"
    banned = MAY_NOT_USE.get(layer, ())
    used = sorted(name for name in imports(path) if within(name, banned))
    assert not used, f"{module} ({layer}) uses {used}"


def test_only_the_store_writes_sql() -> None:
    """No statement is built outside bot/store: select, insert, update, delete, text()."""
    builders = {"select", "insert", "update", "delete", "text", "tuple_", "func", "col"}
    offenders = []
    for module, path in modules():
        if module.startswith("bot.store"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlmodel"):
                offenders += [f"{module}: {a.name}" for a in node.names if a.name in builders]
    assert not offenders


def test_parameters_past_the_second_are_keyword_only() -> None:
    """STYLE.md: `create_client(*, session, coach, name)`, not a row of positional values."""
    offenders = []
    for module, path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if names[:1] in (["self"], ["cls"]):
                    names = names[1:]
                if len(names) > 2:
                    offenders.append(f"{module}.{node.name}({', '.join(names)})")
    assert not offenders


def test_the_layers_named_here_are_the_folders_there_are() -> None:
    folders = {p.name for p in (ROOT / "bot").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"store", "delivery", "service", "transports"}
