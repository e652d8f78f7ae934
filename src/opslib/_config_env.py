"""How settings are read from ``OPSLIB_*`` variables: plain lists, and names that match nothing.

A list setting takes JSON (``'["a", "b"]'``) as pydantic-settings reads it, or, when the value
is not JSON, the natural spelling: one value, or values separated by commas. A URL list is
split only where a new ``scheme://`` begins (a comma inside a URL stays), a path list not at all
(a path may hold a comma). Every ``OPSLIB_*`` variable must name a setting or one of the
variables opslib reads itself; a typo is reported with the closest known name.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

__all__ = ["DIRECT_VARIABLES", "PlainListEnvSource", "unknown_variables"]

DIRECT_VARIABLES = frozenset({"OPSLIB_CONFIG", "OPSLIB_LAB_DIR", "OPSLIB_LAB_PROMETHEUS"})
"""Variables opslib reads itself (not settings): the config file, the lab's directory and binary."""
_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://", re.I)
_NEXT_URL = re.compile(r"\s*,\s*(?=[a-z][a-z0-9+.-]*://)", re.I)


class PlainListEnvSource(EnvSettingsSource):
    """The environment source, taking a list setting that is not JSON as plain values."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        """JSON, as pydantic-settings reads it; else plain values for a list setting."""
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            items = _plain_list(field, value)
            if items is None:
                raise
            return items


def _plain_list(field: FieldInfo | None, value: Any) -> list[str] | None:
    if field is None or not isinstance(value, str) or value.lstrip().startswith(("[", "{")):
        return None
    if typing.get_origin(field.annotation) is not list:
        return None
    (item,) = typing.get_args(field.annotation) or (None,)
    text = value.strip()
    if item is Path:
        items = [text]
    elif item is SecretStr:
        items = [part.strip() for part in text.split(",")] if text else []
    elif item is not str:
        return None
    elif _URL_START.match(text):
        items = _NEXT_URL.split(text)
    else:
        items = [part.strip() for part in text.split(",")] if text else []
    return items


def unknown_variables(
    model: type[BaseModel], environ: Mapping[str, str], prefix: str, delimiter: str
) -> list[str]:
    """One problem line per ``prefix*`` variable in ``environ`` that names no setting of
    ``model`` (nor one of :data:`DIRECT_VARIABLES`), with the closest known name."""
    known = {prefix + name.upper() for name in model.model_fields}
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(prefix) or upper in DIRECT_VARIABLES:
            continue
        top, _, rest = upper[len(prefix) :].partition(delimiter)
        field = model.model_fields.get(top.lower())
        if field is not None and (not rest or _has_parts(field)):
            continue  # nested names below a known section are checked by the model itself
        guess = difflib.get_close_matches(
            upper if field is None else prefix + top, sorted(known | DIRECT_VARIABLES), n=1
        )
        hint = f"; did you mean {guess[0]}?" if guess else ""
        if field is not None:
            hint = f"; {prefix + top} has no parts"
        problems.append(f"{name}: not an opslib setting (from the environment{hint})")
    return problems


def _has_parts(field: FieldInfo) -> bool:
    annotation = field.annotation
    if typing.get_origin(annotation) is dict:
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
