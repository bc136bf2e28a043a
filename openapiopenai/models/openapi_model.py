"""The one place where model behaviour lives: dict/JSON conversion, strictness, secret masking.

Requests are strict: unknown keywords and out-of-range values fail before anything is sent,
and only what the caller set goes out. Responses are lenient: whatever a newer server adds is
kept and readable.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError, PydanticSerializationError
from typing_extensions import Self

from openapiopenai._secrets import mask_secret, redact
from openapiopenai.exceptions import (
    ApiAttributeError,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    FieldError,
)

_Model = TypeVar("_Model", bound=BaseModel)


def _is_none(value: object) -> bool:
    return value is None


def optional(**constraints: Any) -> Any:
    """A field that may be left out; ``None`` means "not set" and is never sent."""
    return Field(default=None, exclude_if=_is_none, **constraints)


def nullable() -> Any:
    """A field for which ``None`` is a real value, sent as JSON ``null`` (e.g. "turn this off")."""
    return Field(default=None)


class OpenApiModel(BaseModel):
    """Base of every model: ``to_dict``/``from_dict``, ``to_json``/``from_json``, ``to_str``."""

    model_config = ConfigDict(populate_by_name=True, validate_assignment=True)

    #: Fields whose values are credentials: masked in ``repr``, ``str`` and ``to_str``.
    __secret_fields__: ClassVar[frozenset[str]] = frozenset()
    #: Whether bad values may be echoed in validation errors (never for responses).
    __echo_input__: ClassVar[bool] = False

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise self._validation_error(error) from error

    # Only keyword construction by callers goes through __init__ above; pydantic's core keeps
    # validating nested data itself (faster, strict mode intact, errors keep their location).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as error:
            raise self._validation_error(error) from error

    def to_dict(self) -> dict[str, Any]:
        """The fields that were set (by the caller or the server), as plain Python values."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        """The JSON text of :meth:`to_dict`."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """The JSON of :meth:`to_dict` as UTF-8 bytes, ready to send."""
        try:
            return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_unset=True)
        except PydanticSerializationError as error:
            # e.g. a lone surrogate in a string, or a non-JSON object inside ``metadata``
            raise ApiValueError(
                f"{type(self).__name__} cannot be written as JSON: {error}"
            ) from None

    @overload
    @classmethod
    def from_dict(cls, obj: None) -> None: ...

    @overload
    @classmethod
    def from_dict(cls, obj: Mapping[str, Any] | Self) -> Self: ...

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any] | Self | None) -> Self | None:
        """Build and validate a model from a mapping (``None`` gives ``None``)."""
        if obj is None:
            return None
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, Mapping):
            raise ApiTypeError(
                f"{cls.__name__}.from_dict() takes a mapping, not {type(obj).__name__}"
            )
        try:
            return cls.model_validate(obj)
        except ValidationError as error:
            raise cls._validation_error(error) from None

    @classmethod
    def from_json(cls, json_str: str | bytes | bytearray) -> Self:
        """Parse and validate JSON text in one pass through pydantic's compiled core."""
        try:
            return cls.model_validate_json(json_str)
        except ValidationError as error:
            raise cls._validation_error(error) from None

    def to_str(self) -> str:
        """A readable multi-line rendering, with credentials masked."""
        import pprint  # only for this rarely used rendering: keeps it off the import path

        return pprint.pformat(_masked(self))

    @property
    def additional_properties(self) -> dict[str, Any]:
        """Fields this SDK has no name for: sent as given on requests, kept from responses."""
        return dict(self.__pydantic_extra__ or {})

    @classmethod
    def _validation_error(cls, error: ValidationError) -> ApiValidationError:
        return ApiValidationError.from_pydantic(cls.__name__, error, show_input=cls.__echo_input__)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Only the fields that were set, secrets masked: short, and safe to log."""
        fields_set = self.model_fields_set
        for name, value in super().__repr_args__():
            if name is not None and name in fields_set:
                yield name, _shown(self, name, value, lambda item: item)


def _masked(value: Any) -> Any:
    """``to_dict()`` with every secret field masked, recursively."""
    if isinstance(value, OpenApiModel):
        return {key: _shown(value, key, item, _masked) for key, item in _set_items(value)}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _shown(model: OpenApiModel, name: str, value: Any, known: Callable[[Any], Any]) -> Any:
    """How field ``name`` of ``model`` may be shown: a secret field masked, an unknown field's
    key-shaped text masked, any other value passed to ``known``."""
    if name in model.__secret_fields__ and isinstance(value, str):
        return mask_secret(value)
    if name in (model.__pydantic_extra__ or {}):
        return _redacted(value)
    return known(value)


def _redacted(value: Any) -> Any:
    """An unknown field's value with key-shaped text masked: no schema says which are secret."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    return _masked(value)


def _set_items(model: OpenApiModel) -> Iterator[tuple[str, Any]]:
    """The (wire name, value) pairs ``to_dict()`` would emit, as model objects, not dicts."""
    dumped = model.to_dict()
    fields = type(model).model_fields
    for name in model.model_fields_set:
        field = fields.get(name)
        key = (field.alias or name) if field is not None else name
        if key in dumped:
            yield key, getattr(model, name)


class RequestModel(OpenApiModel):
    """A model sent to the server: strict about names, types, enums and bounds.

    A misspelled keyword is an error rather than a silently dropped field. A field the SDK does
    not know yet can still be sent, explicitly, with :meth:`with_additional_properties`.
    """

    # "allow" only so that explicitly added properties serialise natively; unknown keys in
    # input are rejected by ``_reject_unknown_fields``. NaN and infinity have no JSON form
    # (they would go out as null), so float fields refuse them. Strict: "yes" is not a bool
    # and "1.2" is not a number (nested dicts and ints for floats are still accepted).
    model_config = ConfigDict(extra="allow", allow_inf_nan=False, strict=True)
    __echo_input__ = True

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = cls._known_names()
            if not known.issuperset(data):  # one C-level pass in the usual, valid case
                unknown = next(key for key in data if key not in known)
                raise PydanticCustomError(
                    "extra_forbidden",
                    "unknown field {field}",
                    {"field": unknown, "known": tuple(cls.model_fields)},
                )
        return data

    @classmethod
    def _known_names(cls) -> frozenset[str]:
        names = cls.__dict__.get("_known_names_cache")
        if names is None:
            names = frozenset(cls.model_fields) | {
                field.alias for field in cls.model_fields.values() if field.alias
            }
            type.__setattr__(cls, "_known_names_cache", names)
        return names

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields and not name.startswith("_"):
            raise ApiAttributeError(
                f"{type(self).__name__} has no field {name!r}; "
                f"known fields: {', '.join(type(self).model_fields)}"
            )
        super().__setattr__(name, value)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy, with ``update`` checked like constructor keywords: known names, valid values."""
        if not update:
            return super().model_copy(deep=deep)
        fields = type(self).model_fields
        current = {name: getattr(self, name) for name in self.model_fields_set if name in fields}
        extra = dict(self.__pydantic_extra__ or {})
        if deep:
            current, extra = copy.deepcopy((current, extra))
        try:
            result = self.model_validate({**current, **update})
        except ValidationError as error:
            raise self._validation_error(error) from None
        return _with_extra(result, extra) if extra else result

    def with_additional_properties(
        self, properties: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Self:
        """A copy that also sends these fields as given, for API fields newer than this SDK.

        Names this model already has are refused: set those through their attributes, so they
        are validated.
        """
        extra = {**(properties or {}), **kwargs}
        clash = sorted(set(extra) & self._known_names())
        if clash:
            raise ApiValidationError(
                type(self).__name__,
                [FieldError(name, "is a known field; set it directly") for name in clash],
            )
        result = self.model_copy(deep=True)
        return _with_extra(result, {**(result.__pydantic_extra__ or {}), **extra})


def _with_extra(model: _Model, extra: dict[str, Any]) -> _Model:
    """``model`` (a fresh copy) carrying ``extra`` as its unknown fields, all counted as set."""
    object.__setattr__(model, "__pydantic_extra__", extra)
    object.__setattr__(model, "__pydantic_fields_set__", model.model_fields_set | set(extra))
    return model


class ResponseModel(OpenApiModel):
    """A model read from the server: lenient, so what a newer server adds never breaks it."""

    model_config = ConfigDict(extra="allow")


__all__ = ["OpenApiModel", "RequestModel", "ResponseModel", "nullable", "optional"]
