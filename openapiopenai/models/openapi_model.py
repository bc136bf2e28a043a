"""The one place where model behaviour lives: dict/JSON conversion, strictness, secret masking.

Requests are strict: unknown keywords and out-of-range values fail before anything is sent,
and only what the caller set goes out. Responses are lenient: whatever a newer server adds is
kept and readable.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar, TypeVar, overload

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, PydanticSerializationError
from typing_extensions import Self

from openapiopenai._secrets import mask_secret, redact
from openapiopenai.exceptions import (
    ApiAttributeError,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    FieldError,
)
from openapiopenai.models import _fast

_Model = TypeVar("_Model", bound=BaseModel)


def _is_none(value: object) -> bool:
    return value is None


def optional(**constraints: Any) -> Any:
    """A field that may be left out; ``None`` means "not set" and is never sent."""
    return Field(default=None, exclude_if=_is_none, **constraints)


def nullable() -> Any:
    """A field for which ``None`` is a real value, sent as JSON ``null`` (e.g. "turn this off")."""
    return Field(default=None)


#: Validation context of everything read from the server: see :data:`LENIENT_IN_RESPONSE`.
RESPONSE_CONTEXT: Mapping[str, bool] = {"response": True}


#: Errors that a value newer than this SDK causes (as opposed to a value of the wrong kind).
_NEWER_VALUE_ERRORS = frozenset(
    {
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
    }
)


#: Errors that only say "not one of the known values": newer only if the value could be one.
_UNKNOWN_VALUE_ERRORS = frozenset({"literal_error", "enum"})


def _keep_if_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError as error:
        if any(_is_newer(item) for item in error.errors()):
            return value
        raise


def _is_newer(item: Any) -> bool:
    """Whether one error is what a value newer than this SDK causes. An unknown enum value is
    text or a number: an object or a list where one is expected is of the wrong kind."""
    kind = item["type"]
    if kind in _UNKNOWN_VALUE_ERRORS:
        return not isinstance(item["input"], (Mapping, list))
    return kind in _NEWER_VALUE_ERRORS


def _keep_if_invalid_in_response(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    if info.context is not None and info.context.get("response"):
        return _keep_if_invalid(value, handler)
    return handler(value)


#: On a field of a response-only model: a value newer than this SDK (an unknown enum value, a
#: new union member, a value out of the documented range) is kept as the server sent it; a
#: value of the wrong kind (text where a number belongs) is still an error.
LENIENT = WrapValidator(_keep_if_invalid)
#: The same for models used both ways, but only while reading a response: requests stay strict.
LENIENT_IN_RESPONSE = WrapValidator(_keep_if_invalid_in_response)


#: Members that share a ``type`` told apart by a second constant: type -> (property, members).
Nested = Mapping[str, tuple[str, Mapping[str, str]]]


def _json_data(value: Any, info: ValidationInfo) -> Any:
    """A free-form value (``metadata``, a tool's ``parameters``) as the JSON it will be sent as:
    a model inside it whole, tuples as lists. What JSON cannot say (NaN, infinity, a key that
    is not text, a lone surrogate) is refused at its own dotted path. Responses keep any value."""
    if info.context is not None and info.context.get("response"):
        return value
    errors: list[InitErrorDetails] = []
    data = _as_json(value, (), errors)
    if errors:
        raise ValidationError.from_exception_data("free-form value", errors)
    return data


def _as_json(value: Any, loc: tuple[str | int, ...], errors: list[InitErrorDetails]) -> Any:
    """``value`` as plain JSON data; each problem found is added to ``errors``."""
    if isinstance(value, str):
        if not _is_text(value):
            errors.append(_not_json(loc, value, _SURROGATE))
        return value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.append(_not_json(loc, value, "NaN and infinity have no JSON form"))
        return value
    if isinstance(value, Mapping):
        data: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _is_text(key):
                errors.append(_not_json(loc, key, "keys must be text (str, no lone surrogate)"))
                continue
            data[key] = _as_json(item, (*loc, key), errors)
        return data
    if isinstance(value, (list, tuple)):
        return [_as_json(item, (*loc, index), errors) for index, item in enumerate(value)]
    if isinstance(value, BaseModel):
        # All of it, as the fast path (and json.dumps of its dump) would send it.
        return _as_json(value.model_dump(by_alias=True, warnings=False), loc, errors)
    return value  # datetimes and the like: pydantic's serialiser writes or refuses them


def _is_text(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _not_json(loc: tuple[str | int, ...], value: Any, why: str) -> InitErrorDetails:
    error = PydanticCustomError("not_json", "not JSON: {why}", {"why": why})
    return {"type": error, "loc": loc, "input": value}


def _text_key(key: str, info: ValidationInfo) -> str:
    """A map key sent to the server: a lone surrogate is refused, as in a value (JSON cannot
    carry it, and rewriting it would send another key)."""
    if _is_text(key) or (info.context is not None and info.context.get("response")):
        return key
    raise PydanticCustomError("not_json", "not JSON: {why}", {"why": _SURROGATE})


_SURROGATE = "a lone surrogate is not text JSON can carry"

#: A free-form value of a request: see :func:`_json_data`.
JsonData = Annotated[Any, AfterValidator(_json_data)]
#: The key of a map in a request: see :func:`_text_key`.
TextKey = Annotated[str, AfterValidator(_text_key)]


def by_type(
    tags: Mapping[str, str], *, scalar: bool = False, nested: Nested | None = None
) -> Discriminator:
    """The discriminator of a union told apart by ``type``: a mapping goes to the member its
    ``type`` names (messages then by their ``role``, as ``nested`` says; anything unknown to the
    ``Unknown`` branch), a model to its own class, and anything else to the one non-object
    member (``Scalar``) if there is one."""
    subtags = nested or {}
    members = frozenset(tags.values()).union(*(choices.values() for _, choices in subtags.values()))

    def tag_of(value: Any) -> str | None:
        if isinstance(value, Mapping):
            return _member_of(value, tags, subtags)
        name = type(value).__name__
        if name in members:
            return name
        return "Scalar" if scalar else None

    known = [*tags, *subtags]
    return Discriminator(
        tag_of,
        custom_error_type="union_tag_unknown",
        custom_error_message=f"Input should be an object whose type is one of {_or(known)}",
    )


def _member_of(value: Mapping[str, Any], tags: Mapping[str, str], nested: Nested) -> str:
    """The member a mapping's tags name; ``Unknown`` for a tag that is new, missing or not
    text (an object, a list cannot name a member: never a crash)."""
    tag = value.get("type")
    if not isinstance(tag, str):
        return "Unknown"
    second = nested.get(tag)
    if second is None:
        return tags.get(tag, "Unknown")
    prop, choices = second
    sub = value.get(prop)
    return choices.get(sub, "Unknown") if isinstance(sub, str) else "Unknown"


def _or(values: Any) -> str:
    quoted = [repr(value) for value in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


class UnknownType:
    """The branch of a ``type`` union for objects of a type (or role) this SDK does not know:
    kept as a ``dict`` in responses, refused in requests with the list of known values."""

    __slots__ = ("known", "nested")

    def __init__(
        self,
        known: tuple[str, ...],
        nested: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
    ) -> None:
        self.known = known
        self.nested = nested or {}

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        from pydantic_core import core_schema

        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def _check(self, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.context is not None and info.context.get("response"):
            return value
        if "type" not in value:
            raise PydanticCustomError(
                "missing", "Field required: type, one of {known}", {"known": _or(self.known)}
            )
        second = self.nested.get(value["type"]) if isinstance(value["type"], str) else None
        if second is not None:
            prop, values = second
            if prop not in value:
                raise PydanticCustomError(
                    "missing",
                    "Field required: {prop}, one of {known}",
                    {"prop": prop, "known": _or(values)},
                )
            raise PydanticCustomError(
                "literal_error", "{prop} should be {known}", {"prop": prop, "known": _or(values)}
            )
        raise PydanticCustomError(
            "literal_error", "type should be {known}", {"known": _or(self.known)}
        )


def base64_bytes(text: str, field: str) -> bytes:
    """``text`` decoded from base64, strictly: bad padding or a character outside the alphabet
    is an :class:`ApiValueError` naming ``field``, never a silently shorter result."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        problem = ApiValueError(
            "is not base64 (bad padding, or a character outside the base64 alphabet)", [field]
        )
    raise problem  # outside the except block: no __context__ quoting the input


@overload
def unix_datetime(seconds: int) -> datetime: ...


@overload
def unix_datetime(seconds: int | None) -> datetime | None: ...


def unix_datetime(seconds: int | None) -> datetime | None:
    """Seconds since the Unix epoch as an aware UTC ``datetime`` (``None`` stays ``None``)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


class OpenApiModel(BaseModel):
    """Base of every model: ``to_dict``/``from_dict``, ``to_json``/``from_json``, ``to_str``."""

    # defer_build: a class costs almost nothing until it is first used, so importing a module
    # with many models stays cheap; pydantic builds each validator on first use.
    model_config = ConfigDict(populate_by_name=True, validate_assignment=True, defer_build=True)

    #: Fields whose values are credentials: masked in ``repr``, ``str`` and ``to_str``.
    __secret_fields__: ClassVar[frozenset[str]] = frozenset()
    #: Whether bad values may be echoed in validation errors (never for responses).
    __echo_input__: ClassVar[bool] = False
    #: Validation context of ``from_dict``/``from_json``: responses read everything leniently.
    __context__: ClassVar[Mapping[str, bool] | None] = None

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
            return
        except ValidationError as error:
            problem = self._validation_error(error)
        # Raised outside the except block: pydantic's own error quotes the input, which may
        # hold a key, and would stay reachable as __context__ (`from None` only hides it).
        raise problem

    # Only keyword construction by callers goes through __init__ above; pydantic's core keeps
    # validating nested data itself (faster, strict mode intact, errors keep their location).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
            return
        except ValidationError as error:
            problem = self._validation_error(error)
        raise problem  # outside the except block: no __context__ quoting the input

    def to_dict(self) -> dict[str, Any]:
        """The fields that were set (by the caller or the server), as plain Python values."""
        # warnings=False: a response may keep values newer than its declared types.
        return self.model_dump(by_alias=True, exclude_unset=True, warnings=False)

    def to_json(self) -> str:
        """The JSON text of :meth:`to_dict`."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """The JSON of :meth:`to_dict` as UTF-8 bytes, ready to send."""
        try:
            return self.__pydantic_serializer__.to_json(
                self, by_alias=True, exclude_unset=True, warnings=False
            )
        except PydanticSerializationError as error:
            # e.g. a lone surrogate in a string, or a non-JSON object inside ``metadata``
            problem = ApiValueError(f"{type(self).__name__} cannot be written as JSON: {error}")
        raise problem  # outside the except block: no __context__ quoting the input

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
            return cls.model_validate(obj, context=cls.__context__)
        except ValidationError as error:
            problem = cls._validation_error(error)
        raise problem  # outside the except block: no __context__ quoting the input

    @classmethod
    def from_json(cls, json_str: str | bytes | bytearray) -> Self:
        """Parse and validate JSON text in one pass through pydantic's compiled core."""
        if cls.__context__ is RESPONSE_CONTEXT:
            # Responses first go through validators that call no Python; what those refuse
            # (a newer value, an unknown type, a wrong one) is decided by the exact path below.
            parsed = _fast.parse_json(cls, json_str)
            if parsed is not None:
                return parsed
        try:
            return cls.model_validate_json(json_str, context=cls.__context__)
        except ValidationError as error:
            problem = cls._validation_error(error)
        raise problem  # outside the except block: no __context__ quoting the input

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A caller's subclass of a generated model inherits annotations naming classes that are
        # loaded on first use; pydantic reads them from the parent, so the parent completes first.
        for base in cls.__bases__:
            if _fast.is_generated(base) and not base.__pydantic_complete__:
                base.model_rebuild()
        super().__init_subclass__(**kwargs)

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        """pydantic's ``model_rebuild``, after the classes this one reaches are loaded: pydantic
        calls it before it first builds a validator, serialiser or JSON Schema."""
        _fast.resolve(cls.__name__)
        return super().model_rebuild(
            force=force,
            raise_errors=raise_errors,
            # one frame more than the caller meant: this override's own
            _parent_namespace_depth=_parent_namespace_depth + 1 if _parent_namespace_depth else 0,
            _types_namespace=_types_namespace,
        )

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
    if name in model.__secret_fields__:
        return _secret_shown(value)
    if name in (model.__pydantic_extra__ or {}):
        return _redacted(value)
    return known(value)


def _secret_shown(value: Any) -> Any:
    """A credential field masked: a string as ``ek_***``, a mapping (headers) with its keys
    kept and every value masked."""
    if isinstance(value, str):
        return mask_secret(value)
    if isinstance(value, Mapping):
        return {key: _secret_shown(item) for key, item in value.items()}
    return value if value is None else "***"


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

    #: The ``type`` tag of a union member, sent even when the caller leaves it out, so that
    #: the server (and this SDK) can tell the members apart.
    __constants__: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Mapping):
            if info.context is not None and info.context.get("response"):
                return data  # read leniently, like any response
            known = cls._known_names()
            if not known.issuperset(data):  # one C-level pass in the usual, valid case
                unknown = next(key for key in data if key not in known)
                raise PydanticCustomError(
                    "extra_forbidden",
                    "unknown field {field}",
                    {"field": unknown, "known": tuple(cls.model_fields)},
                )
            if cls.__constants__ and not data.keys() >= cls.__constants__.keys():
                return {**cls.__constants__, **data}
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
            problem = self._validation_error(error)
        else:
            return _with_extra(result, extra) if extra else result
        raise problem  # outside the except block: no __context__ quoting the input

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
    __context__ = RESPONSE_CONTEXT


__all__ = [
    "JsonData",
    "TextKey",
    "LENIENT",
    "LENIENT_IN_RESPONSE",
    "RESPONSE_CONTEXT",
    "OpenApiModel",
    "RequestModel",
    "ResponseModel",
    "UnknownType",
    "base64_bytes",
    "by_type",
    "nullable",
    "optional",
    "unix_datetime",
]
