"""What every command needs: settings, an engine, errors printed the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine

from convoscope.errors import ConvoscopeError, SettingsError
from convoscope.indexing import upgrade
from convoscope.settings import Settings, load_settings
from convoscope.store import make_engine

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as problem:
        raise fail(f"bad setting\n{problem}") from None


@contextmanager
def migrated_engine() -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema; CLI errors end the command.

    Its SQLite transactions take the write lock at BEGIN: a server may be writing too.
    """
    settings = settings_or_exit()
    engine = make_engine(settings.database_url, pool_size=1, lock_at_begin=True)
    try:
        upgrade(engine)
        yield engine
    except ConvoscopeError as problem:
        raise fail(problem.detail) from None
    finally:
        engine.dispose()
