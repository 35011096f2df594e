"""Decoding JSON config values into dicts or (nested) dataclasses."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union, cast

from .errors import ConfigDecodeError

T = TypeVar("T")


@dataclass(frozen=True)
class ConfigVersion(Generic[T]):
    """One version of a config key, as watch_config yields it (TypeScript's ConfigVersion,
    Go's ConfigUpdate): `value` is None while the key does not exist."""

    value: T | None
    revision: int
    """The revision that wrote this version (or deleted the key); for the first version
    of a key that does not exist, the store revision it was read at."""


def decode_config(raw: bytes, into: type[T], key: str = "") -> T:
    """Parses `raw` as JSON and shapes it as `into`: dict, or a dataclass whose fields are
    filled by name (nested dataclasses, lists and optionals included; unknown keys ignored
    so that adding a field to a config doesn't break older readers)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigDecodeError(f"config {key!r} is not valid JSON: {err}") from None
    return cast(T, _shape(data, into, key or "config"))


def _shape(data: Any, into: Any, path: str) -> Any:
    origin = typing.get_origin(into)
    if into is Any:
        return data
    if origin in (Union, types.UnionType):
        args = typing.get_args(into)
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _shape(data, arg, path)
            except ConfigDecodeError as err:
                errors.append(str(err))
        raise ConfigDecodeError(f"{path}: matches no type of {into}: {'; '.join(errors)}")
    if dataclasses.is_dataclass(into) and isinstance(into, type):
        if not isinstance(data, dict):
            raise ConfigDecodeError(f"{path}: expected an object for {into.__name__}, got {type(data).__name__}")
        hints = typing.get_type_hints(into)
        kwargs = {}
        for f in dataclasses.fields(into):
            if f.name in data:
                kwargs[f.name] = _shape(data[f.name], hints[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigDecodeError(f"{path}: missing field {f.name!r} of {into.__name__}")
        return into(**kwargs)
    if origin in (list, tuple) or into in (list, tuple):
        if not isinstance(data, list):
            raise ConfigDecodeError(f"{path}: expected a list, got {type(data).__name__}")
        args = typing.get_args(into)
        item = args[0] if args else Any
        items = [_shape(v, item, f"{path}[{i}]") for i, v in enumerate(data)]
        return tuple(items) if (origin or into) is tuple else items
    if origin is dict or into is dict:
        if not isinstance(data, dict):
            raise ConfigDecodeError(f"{path}: expected an object, got {type(data).__name__}")
        args = typing.get_args(into)
        value_type = args[1] if len(args) == 2 else Any
        return {k: _shape(v, value_type, f"{path}.{k}") for k, v in data.items()}
    if into is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if isinstance(into, type):
        # bool is an int in Python but not in JSON: keep them apart.
        if isinstance(data, into) and not (into is int and isinstance(data, bool)):
            return data
        raise ConfigDecodeError(f"{path}: expected {into.__name__}, got {type(data).__name__}")
    raise ConfigDecodeError(f"{path}: unsupported type {into!r}")
