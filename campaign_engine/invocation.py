"""What one run of the `campaign-engine` command shares: its runtime and progress reporting."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import click

from campaign_engine.config import load_settings
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.runtime import Runtime, build_runtime
from campaign_engine.schema import current_revision, head_revision


class Invocation:
    """What one run of the command shares: the runtime, built on first use from CE_*."""

    @cached_property
    def runtime(self) -> Runtime:
        """Return the runtime for the CE_* environment; its engine closes with the command."""
        runtime = build_runtime(load_settings())
        click.get_current_context().call_on_close(runtime.engine.dispose)
        return runtime

    @property
    def migrated_runtime(self) -> Runtime:
        """Return the runtime, refusing a database whose schema is not current."""
        if current_revision(self.runtime.engine) != head_revision():
            raise click.ClickException(
                "the database schema is not current; run `campaign-engine db upgrade`"
            )
        return self.runtime


pass_invocation = click.make_pass_decorator(Invocation, ensure=True)


def stage_progress(bar: Any, verb: str) -> Callable[[str, int, int], None]:
    """Return a `progress(stage, done, total)` callback that drives a click progress bar."""

    def progress(stage: str, done: int, total: int) -> None:
        bar.label = f"{verb} {stage}"
        bar.length = max(total, 1)
        bar.update(done - bar.pos)

    return progress


def read_json(path: Path) -> Any:
    """Read a JSON file, or raise InvalidInput naming the line of the first syntax error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON", [Problem(f"line {exc.lineno}", exc.msg)]
        ) from None
