"""How the command line presents itself: types as words in ``--help``, an example per command,
and registry names checked when an option is given rather than when the program starts.

Everything here is light (typer and the standard library), because ``landslide --help`` and a
refused argument must not import torch, scikit-learn, SciPy, pandas or LightGBM (see
``tests/test_cli_startup.py``).
"""

from __future__ import annotations

import textwrap
import typing
from collections.abc import Callable, Iterable
from typing import Any

import typer

__all__ = ["example", "registered"]


#: typer's type labels (``<path>``, ``<int range>``, ``<list[str]>``) -> the words help shows instead.
_TYPE_WORDS = {
    "path": "PATH",
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "bool": "BOOLEAN",
    "int range": "INTEGER",
    "float range": "FLOAT",
}


def _type_word(label: str) -> str:
    """``<path>`` -> ``PATH``, ``<list[str]>`` -> ``TEXT``, ``<none|rot90>`` -> ``[none|rot90]``."""
    inner = label.strip("<>")
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[5:-1]
    return f"[{inner}]" if "|" in inner else _TYPE_WORDS.get(inner, inner.upper())


def _help_in_words() -> None:
    """Show parameter types as words in ``--help``, as click does, not typer 0.29's placeholders.

    typer 0.29 prints ``<path>``, ``<int>`` or ``<list[str]>`` after every option, ``<bool>`` after
    every on/off flag (``--json``, ``--overwrite``, even ``--help``: as if the flag took a value)
    and a required argument as ``{root}`` in the usage line. Here an option shows its ``metavar``
    or a word for its type (``PATH``, ``INTEGER``, ``TEXT``, ``[a|b]`` for choices), a flag shows
    nothing, and an argument shows its name in capitals (``ROOT``, ``[ROOT]`` when optional,
    ``SCENE_FILES...`` when repeated). Versions of typer without these hooks are left as they are.
    """
    from typer.core import TyperArgument, TyperOption

    hooks = getattr(TyperOption, "display_type_rich", None), getattr(TyperArgument, "_usage_display_name", None)
    if None in hooks or getattr(hooks[0], "_in_words", False):
        return

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return _type_word(self.display_type(ctx)) + ("..." if self.nargs != 1 else "")

    def argument_type(self: TyperArgument, ctx: Any) -> str | None:
        return None if self.metavar is not None else _type_word(self.display_type(ctx))

    def argument_name(self: TyperArgument) -> str:
        return self.metavar if self.metavar is not None else (self.name or "").upper()

    def argument_usage(self: TyperArgument) -> str:
        name = self.display_name_raw
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")

    option_type._in_words = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign]
    TyperArgument.display_name_raw = property(argument_name)  # type: ignore[assignment,method-assign]
    TyperArgument._usage_display_name = argument_usage  # type: ignore[method-assign]


_help_in_words()


class _Absent:
    """typer's coercion of a value that was not given: None stays None (``()`` for a repeated
    parameter), an empty list for a repeated ``list[...]`` parameter stays an empty list."""

    @staticmethod
    def applies(param: Any, value: Any) -> bool:
        if value is None:
            return True
        repeated = param.multiple or param.nargs == -1
        return repeated and value in ((), []) and typing.get_origin(param.type_descriptor.annotation) is list

    @staticmethod
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        return []


def _absent_values_skip_pydantic() -> None:
    """Process a parameter that was not given without building its pydantic adapter.

    typer 0.29 coerces every parameter of every command level it parses through a pydantic
    ``TypeAdapter``, building it (and importing pydantic, 0.14 s) even for a value that was not
    given, which it turns into None (an empty list) whatever the type. The root's ``--help``,
    ``--install-completion`` and ``--show-completion`` are such values, so every sub-command's
    help page paid for pydantic. Those values are now coerced without the adapter
    (:class:`_Absent`); typer's own ``process_value`` still checks required parameters and runs
    callbacks, and every given value goes through typer's coercion as before. Versions of typer
    without these hooks are left as they are.
    """
    from typer.core import _TyperParameter

    process = getattr(_TyperParameter, "process_value", None)
    if (
        process is None
        or getattr(process, "_skips_absent", False)
        or "_runtime_param" not in vars(_TyperParameter).get("__annotations__", {})
    ):
        return

    def process_value(self: _TyperParameter, ctx: Any, value: Any) -> Any:
        if self._runtime_param is not None or not _Absent.applies(self, value):
            return process(self, ctx, value)
        self._runtime_param = _Absent  # type: ignore[assignment]
        try:
            return process(self, ctx, value)
        finally:
            self._runtime_param = None

    process_value._skips_absent = True  # type: ignore[attr-defined]
    _TyperParameter.process_value = process_value  # type: ignore[method-assign]


_absent_values_skip_pydantic()


def registered(kind: str, names: Callable[[], Iterable[str]]) -> Callable[[str], str]:
    """A typer ``parser`` accepting one name of a registry that only its heavy modules fill.

    ``names`` (e.g. :func:`~landslide_fusion.fusion.methods.list_methods`) is called when the
    option is given, not when the command line starts, so ``--help`` stays light; an unknown
    name is a usage error listing the valid ones: ``unknown fusion method 'x'; valid: a, b``.
    A closed list of names is a :func:`choices` Enum instead (help then lists the names).
    """

    def parse(value: str) -> str:
        valid = list(names())
        if value not in valid:
            raise typer.BadParameter(f"unknown {kind} {value!r}; valid: {', '.join(valid)}")
        return value

    return parse


def _shell_lines(command: str, width: int = 72) -> list[str]:
    """``command`` broken into lines of at most ``width`` characters with `` \\`` continuations,
    never between an option and its value."""
    words = command.split()
    joined = [
        f"{w}\0{nxt}" if w.startswith("-") and not nxt.startswith("-") else w
        for w, nxt in zip(words, words[1:] + ["-"])
    ]
    kept = [w for i, w in enumerate(joined) if i == 0 or "\0" not in joined[i - 1]]
    lines = textwrap.wrap(
        " ".join(kept), width, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False
    )
    return [line.replace("\0", " ") + (" \\" if i < len(lines) - 1 else "") for i, line in enumerate(lines)]


def example(*commands: str) -> str:
    """A command's ``epilog``: ``Example:`` and command lines to paste, shown last by ``--help``.

    ``@app.command("check", epilog=example("landslide data check runs/synth"))``. A long command
    is broken with `` \\`` continuations to fit an 80-column terminal; click's ``\\b`` marker keeps
    the block as written (help text is not re-wrapped there).
    """
    lines = [line for command in commands for line in _shell_lines(command)]
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)
