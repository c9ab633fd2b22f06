"""Settings widgets made from the config's field descriptions (core.fields): label, limits, options and help
come from there, so a widget can never offer what validation refuses, or refuse what it accepts."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import ConfigError
from core.fields import FIELDS


def number(path: str, value: Any, container=st, **options):
    """A number input bounded by the field's limits; an optional field may be left empty (None), and a field
    that may be "auto" is "auto" when left empty."""
    spec = FIELDS[path]
    cast = int if spec.type == "int" else float
    auto = bool(spec.auto)
    chosen = container.number_input(
        spec.label,
        cast(spec.low),
        cast(spec.high),
        None if value is None or (auto and value == "auto") else cast(value),
        step=cast(spec.step) if spec.step is not None else None,
        format=spec.format,
        help=spec.help + (f" Empty: auto, {spec.auto}." if auto else ""),
        placeholder=("auto" if auto else spec.null_means) or None,
        **options,
    )
    return "auto" if auto and chosen is None else chosen


def switch(path: str, value: bool, container=st, **options) -> bool:
    """A toggle for a "bool" field, labelled as the field says."""
    spec = FIELDS[path]
    return container.toggle(spec.label, value, help=spec.help, **options)


def choice(path: str, value: Any, data_kind: str | None = None, container=st, **options):
    """A select box of the field's choices that fit `data_kind`, labelled as the field says."""
    spec = FIELDS[path]
    choices = list(spec.choices_for(data_kind))
    return container.selectbox(
        spec.label,
        choices,
        index=choices.index(value) if value in choices else 0,
        format_func=spec.label_of,
        help=spec.help,
        **options,
    )


def choices(path: str, value: list, container=st, **options) -> list:
    """A multiselect of the field's choices (a "choices" field), labelled as the field says."""
    spec = FIELDS[path]
    return container.multiselect(
        spec.label, list(spec.choices), default=value, format_func=spec.label_of, help=spec.help, **options
    )


def sizes(path: str, value: list[int] | str, container=st, **options) -> str:
    """A text input of comma-separated layer sizes (or "auto" where the field allows it); parse it with
    `parse_sizes`."""
    spec = FIELDS[path]
    text = value if isinstance(value, str) else ", ".join(map(str, value))
    hint = f" Or auto: {spec.auto}." if spec.auto else ""
    return container.text_input(spec.label, text, help=spec.help + hint, **options)


def parse_sizes(path: str, text: str) -> list[int] | str:
    """Comma-separated whole numbers (empty text = no layers), or "auto" where the field allows it; ConfigError
    naming the field otherwise."""
    spec = FIELDS[path]
    if spec.auto and text.strip().lower() == "auto":
        return "auto"
    parts = [part for part in text.replace(" ", "").split(",") if part]
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise ConfigError(
            f"{spec.label} must be whole numbers separated by commas, like 32, 64 (got {text!r})"
        ) from None
