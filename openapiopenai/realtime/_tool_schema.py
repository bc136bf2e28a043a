"""A function tool described from a typed Python callable: its name, its description, the JSON
Schema of its parameters and the validation of the model's arguments, both by pydantic from the
same model, so what the model is told and what is checked cannot drift apart."""

from __future__ import annotations

import asyncio
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic
import pydantic_core
from pydantic.json_schema import GenerateJsonSchema

from openapiopenai.exceptions import ApiTypeError, ApiValueError

if TYPE_CHECKING:
    from openapiopenai.models.realtime_function_tool import RealtimeFunctionToolDict

#: What the Realtime API accepts as a function's name.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAMED_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's parameters; the message says which and why."""


class _NoFieldTitles(GenerateJsonSchema):
    """Schemas without the ``title`` pydantic makes up from each parameter's name: the name is
    already the property's key, and the model reads every token of it."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


@dataclass(frozen=True)
class FunctionTool:
    """One Python function offered to the model as a tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    _arguments: type[pydantic.BaseModel]
    _parameter_of_field: dict[str, str]

    def definition(self) -> RealtimeFunctionToolDict:
        """The tool as ``session.tools`` takes it."""
        definition: RealtimeFunctionToolDict = {"type": "function", "name": self.name}
        if self.description:
            definition["description"] = self.description
        definition["parameters"] = self.parameters
        return definition

    def parse(self, arguments: str) -> dict[str, Any]:
        """The keyword arguments for the function from the model's JSON text, checked against
        the schema the model was given."""
        try:
            checked = self._arguments.model_validate_json(arguments or "{}")
        except pydantic.ValidationError as invalid:
            raise ToolArgumentsError(_explain(invalid)) from None
        return {
            parameter: getattr(checked, field)
            for field, parameter in self._parameter_of_field.items()
        }

    def call(self, arguments: dict[str, Any]) -> Any:
        """Run the function (a coroutine function runs to completion on its own event loop)."""
        result = self.function(**arguments)
        if inspect.iscoroutine(result):
            return asyncio.run(result)
        return result


def encode_output(result: Any) -> str:
    """What goes back to the model: text as it is, anything else as JSON (pydantic models,
    dataclasses, dates and the like included)."""
    if isinstance(result, str):
        if not result.isascii():
            result.encode("utf-8")  # a lone surrogate cannot be sent: UnicodeEncodeError
        return result
    return pydantic_core.to_json(result).decode("utf-8")


def describe(
    function: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> FunctionTool:
    """The tool for ``function``: its ``__name__`` and the first paragraph of its docstring
    unless given; the parameters from its signature and type hints."""
    if not callable(function):
        raise ApiTypeError(f"a tool must be a callable, not {type(function).__name__}", ["tool"])
    name = name if name is not None else getattr(function, "__name__", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ApiValueError(
            f"tool name {name!r} is not allowed: use 1 to 64 letters, digits, '_' or '-' "
            "(pass name=... for a lambda or a callable object)",
            ["name"],
        )
    if description is None:
        description = _summary(inspect.getdoc(function))
    arguments, parameter_of_field = _arguments_model(function, name)
    parameters = arguments.model_json_schema(schema_generator=_NoFieldTitles)
    parameters.pop("title", None)
    return FunctionTool(name, description, parameters, function, arguments, parameter_of_field)


def _summary(docstring: str | None) -> str:
    """The docstring's first paragraph on one line."""
    if not docstring:
        return ""
    return " ".join(docstring.split("\n\n", 1)[0].split())


def _arguments_model(
    function: Callable[..., Any], name: str
) -> tuple[type[pydantic.BaseModel], dict[str, str]]:
    """A pydantic model with one field per parameter, named by alias, so a parameter may be
    called anything (``json``, ``_id``) without clashing with pydantic's own names."""
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError, ValueError) as unreadable:
        raise ApiTypeError(
            f"tool {name}: its signature or type hints cannot be read ({unreadable})", ["tool"]
        ) from None
    fields: dict[str, Any] = {}
    parameter_of_field: dict[str, str] = {}
    for index, parameter in enumerate(signature.parameters.values()):
        if parameter.kind not in _NAMED_KINDS:
            raise ApiTypeError(
                f"tool {name}: parameter {parameter.name} must be passable by name "
                "(no *args, **kwargs or positional-only parameters)",
                [parameter.name],
            )
        if parameter.name not in hints:
            raise ApiTypeError(
                f"tool {name}: parameter {parameter.name} needs a type hint, from which its "
                "JSON Schema is made",
                [parameter.name],
            )
        field = f"p{index}"
        default = pydantic_core.PydanticUndefined
        if parameter.default is not inspect.Parameter.empty:
            default = parameter.default
        fields[field] = (hints[parameter.name], pydantic.Field(default, alias=parameter.name))
        parameter_of_field[field] = parameter.name
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    try:
        model = pydantic.create_model(f"{name}_arguments", __config__=config, **fields)
        model.model_json_schema(schema_generator=_NoFieldTitles)
    except (pydantic.PydanticUserError, pydantic_core.SchemaError, TypeError) as unusable:
        raise ApiTypeError(
            f"tool {name}: no JSON Schema can be made from its type hints ({unusable})",
            ["tool"],
        ) from None
    return model, parameter_of_field


def _explain(invalid: pydantic.ValidationError) -> str:
    """The validation errors as one line the model can act on: where, and what was wrong."""
    problems = []
    for error in invalid.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(problems)
