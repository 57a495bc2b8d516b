"""YAML fronts for the package's pydantic settings: one schema, templates, pointed errors.

The Python API validates its settings with pydantic models (`DotResource`, `SyncSettings`,
`DotHistorySettings`, `ConfluenceNoteSync`, ...). A component must accept the same settings
from `defs.yaml`, where a value may be a Jinja template (`{{ env.DOT_REGION }}`) that only
means something once Dagster renders it. So the settings classes are not used as the YAML
schema directly. `YamlFront` derives from each class:

1. a permissive model, the one Dagster validates `defs.yaml` against when the file is read
   (and `dg check defs` checks): same field names and descriptions, templates allowed
   wherever a value is not a plain string, unknown fields refused with file and line;
2. a resolver that renders the templates and builds the real class, so every validator of
   the Python API runs unchanged and each of its errors is reported at the line of the
   field it is about, not at the top of the file.

Secrets are not rendered. A secret field must be `{{ env.NAME }}` (or `{{ env('NAME') }}`)
and becomes Dagster's `EnvVar("NAME")`, exactly what a Python user writes: the value is
read at run time, in the step that uses it, and never lands in the definitions, the UI or
the event log. So loading (`dg check defs` in CI, a code server) needs no secret: a
variable that is not set fails the run that needs it, and Dagster's error names the
variable. A literal secret fails the load naming the field.
"""

import copy
import os
import re
import types
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import (
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

from dagster import EnvVar, Model, ResolutionContext, Resolver
from dagster.components.resolved.errors import ResolutionException
from jinja2 import Template
from pydantic import BaseModel, Field, ValidationError, create_model

S = TypeVar("S", bound=BaseModel)

#: `{{ env.NAME }}`, `{{ env('NAME') }}`, and either with ` or None` (an optional secret).
_ENV_REFERENCE = re.compile(
    r"""^\{\{\s*env(?:\.(?P<attr>[A-Za-z_]\w*)|\(\s*(?P<q>['"])(?P<call>[A-Za-z_]\w*)(?P=q)\s*\))"""
    r"""(?P<optional>\s+or\s+None)?\s*\}\}$"""
)
_SCALARS = (str, int, float, bool, type(None))
_TEMPLATE = re.compile(r"\{\{|\{%")


class SchemaOnce(Model):
    """A component's attributes model whose JSON schema is built once per process.

    Dagster builds the JSON schema of every installed component type at every load of a
    components project (the component library it attaches to the definitions), whether
    the project uses that type or not: for `DotComponent`'s attributes ~35 ms of CPU each
    time, in every `dg` command, code server and test that loads one. Each caller gets a
    copy (~2 ms), so what one changes stays its own."""

    _schemas: ClassVar[dict[tuple[Any, ...], dict[str, Any]]] = {}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in SchemaOnce._schemas:
            SchemaOnce._schemas[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(SchemaOnce._schemas[key])


def located_error(
    context: ResolutionContext, message: str, path: Sequence[str | int] = ()
) -> ResolutionException:
    """An error naming the file, line and field of `context` (+ `path`), like Dagster's own.

    Without a source (settings given from Python, not a file) it names the field only.
    """
    full_path = [*context.path, *path]
    tree = context.source_position_tree
    if tree is None:
        return ResolutionException(f"{'.'.join(map(str, full_path))}: {message}")
    source = tree.source_error(yaml_path=full_path, inline_error_message=message, value_error=True)
    return ResolutionException(
        f"{source.file_name}:{source.start_line_no} - {source.location}\n{source.snippet}\n"
        f"{message}"
    )


def _validation_error(context: ResolutionContext, error: ValidationError) -> ResolutionException:
    """Every problem pydantic found, each at the line of the field it is about."""
    parts = [
        str(located_error(context, _readable(problem["msg"]), problem["loc"]))
        for problem in error.errors()
    ]
    return ResolutionException("\n".join(parts))


def _readable(message: str) -> str:
    """Pydantic's message without its `Value error, ` prefix: the validator's own words."""
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def secret_reference(context: ResolutionContext, raw: object) -> EnvVar | None:
    """`{{ env.NAME }}` → `EnvVar("NAME")`, whether NAME is set here or not.

    Dagster's own component templates render `{{ env.NAME }}` at load; for a secret that
    would put the value in the definitions and make every load need it. Dagster documents
    `EnvVar` as the way to give a resource a secret (read when a run starts, never shown),
    so a secret field keeps the template's syntax and gets Dagster's run-time semantics.

    `{{ env.NAME or None }}` is an optional secret: nothing when NAME is not set at load,
    as the Python API's `from_env` constructors decide (whether a channel is configured
    shapes the definitions; its value does not).
    """
    if raw is None:
        return None
    match = _ENV_REFERENCE.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise located_error(
            context,
            "a secret must be a reference to an environment variable, e.g. "
            "'{{ env.DOT_API_KEY }}'; a value written here would be committed with the code",
        )
    name = match.group("attr") or match.group("call")
    if match.group("optional") and not os.environ.get(name):
        return None
    return EnvVar(name)


class YamlFront(Generic[S]):
    """The YAML schema and the resolver of one pydantic settings class (see module doc)."""

    #: Secret fields per settings class: rendered as `EnvVar`s, never as their values.
    secrets: ClassVar[dict[type[BaseModel], frozenset[str]]] = {}
    _fronts: ClassVar[dict[type[BaseModel], "YamlFront[Any]"]] = {}
    _by_model: ClassVar[dict[type[BaseModel], "YamlFront[Any]"]] = {}

    def __init__(self, settings: type[S]) -> None:
        self.settings = settings

    @classmethod
    def of(cls, settings: type[S]) -> "YamlFront[S]":
        """The front of `settings`, built once: Dagster caches schemas by model class."""
        if settings not in cls._fronts:
            cls._fronts[settings] = cls(settings)
        return cls._fronts[settings]

    @classmethod
    def declare_secrets(cls, settings: type[BaseModel], *fields: str) -> None:
        """Mark fields of `settings` as secrets, wherever the class appears in a file."""
        cls.secrets[settings] = frozenset(fields)

    @cached_property
    def model(self) -> type[Model]:
        """What `defs.yaml` may say: the class's fields, templates allowed, nothing else."""
        fields: dict[str, Any] = {
            name: (_yaml_type(info.annotation), Field(**_field_kwargs(info)))
            for name, info in self.settings.model_fields.items()
        }
        model = create_model(f"{self.settings.__name__}Yaml", __base__=Model, **fields)
        model.__doc__ = self.settings.__doc__
        YamlFront._by_model[model] = self
        return model

    def resolver(self, description: str, *, examples: list[Any] | None = None) -> Resolver:
        """A Dagster `Resolver` for a component field of this settings class."""
        return Resolver(
            self.resolve, model_field_type=self.model, description=description, examples=examples
        )

    def list_resolver(self, description: str, *, examples: list[Any] | None = None) -> Resolver:
        """A Dagster `Resolver` for a component field holding a list of these settings."""
        field_type: Any = types.GenericAlias(list, (self.model,))  # `list[model]`, at run time
        return Resolver(
            self.resolve_list,
            model_field_type=field_type,
            description=description,
            examples=examples,
        )

    def resolve_list(self, context: ResolutionContext, values: Sequence[object]) -> list[S]:
        """Each item of a YAML list built like a section, its errors at its index."""
        built = (self.resolve(context.at_path(index), value) for index, value in enumerate(values))
        return [item for item in built if item is not None]

    def resolve(self, context: ResolutionContext, value: object) -> S | None:
        """Render the templates of one YAML section and build the settings from it."""
        if value is None or isinstance(value, self.settings):
            return value
        if not isinstance(value, BaseModel):
            raise located_error(
                context, f"expected a mapping of {self.settings.__name__} fields, got {value!r}"
            )
        data = {
            name: self._render_field(context.at_path(name), name, getattr(value, name))
            for name in value.model_fields_set
        }
        try:
            return self.settings(**data)
        except ValidationError as error:
            raise _validation_error(context, error) from None

    def _render_field(self, context: ResolutionContext, name: str, raw: object) -> object:
        if name in self.secrets.get(self.settings, frozenset()):
            return secret_reference(context, raw)
        return _render(context, raw, self.settings.model_fields[name].annotation)


def _render(context: ResolutionContext, raw: object, annotation: Any) -> object:
    """Templates rendered; nested sections built by their own front (errors located there).

    Only strings holding a template are rendered. Dagster's renderer returns native values
    (`"100101"` becomes an int), so where the settings class wants text, a rendered number
    is rendered again as text: a page id stays `"100101"`.
    """
    if isinstance(raw, BaseModel):
        return YamlFront._by_model[type(raw)].resolve(context, raw)
    if isinstance(raw, list):
        item = _item_type(annotation)
        return [_render(context.at_path(index), value, item) for index, value in enumerate(raw)]
    if isinstance(raw, dict):
        item = _value_type(annotation)
        return {key: _render(context.at_path(key), value, item) for key, value in raw.items()}
    if not isinstance(raw, str) or not _TEMPLATE.search(raw):
        return raw
    value = context.resolve_value(raw)
    if _wants_text(annotation) and isinstance(value, int | float):
        return Template(raw).render(**context.scope)
    return value


def _non_null(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [arg for arg in get_args(annotation) if arg is not type(None)]
    return [annotation]


def _wants_text(annotation: Any) -> bool:
    return str in _non_null(annotation) and not {int, float} & set(_non_null(annotation))


def _item_type(annotation: Any) -> Any:
    for option in _non_null(annotation):
        if get_origin(option) in (tuple, list, Sequence) and get_args(option):
            return get_args(option)[0]
    return Any


def _value_type(annotation: Any) -> Any:
    for option in _non_null(annotation):
        if get_origin(option) in (dict, Mapping) and get_args(option):
            return get_args(option)[1]
    return Any


def _yaml_type(annotation: Any) -> Any:
    """The annotation a YAML value of `annotation` must satisfy before rendering.

    Chosen so that schema checkers (`dg check defs`) point at the line of a mistake: a
    union makes a checker report "not valid under any of the given schemas" at the union,
    so unions are avoided above fields. Nested settings get their own front and are not
    nullable (an empty section is an error, not an absent one); lists and mappings take
    their items' types. Only scalars are unions: numbers, booleans, dates and enums may
    also be a template string. Strings and literals stay strict (a misspelt literal is
    reported with the allowed values), a path is a string. A discriminated union of
    settings (a question's expectations, told apart by `kind`) keeps its discriminator:
    a checker reports the one member `kind` names.
    """
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in (str, Any, type(None)) or origin is Literal:
        return annotation
    if annotation is Path:
        return str
    if origin is Annotated:
        return Annotated[(_yaml_type(args[0]), *annotation.__metadata__)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return YamlFront.of(annotation).model
    if origin in (Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], BaseModel):
            return _yaml_type(options[0])
        return Union[tuple(_yaml_type(arg) for arg in args)]  # noqa: UP007
    # `types.GenericAlias(list, (x,))` is `list[x]` for an `x` known only at run time.
    if origin in (tuple, list, Sequence):
        return types.GenericAlias(list, (_yaml_type(args[0]),))
    if origin in (dict, Mapping):
        return types.GenericAlias(dict, (str, _yaml_type(args[1])))
    if annotation in (int, float, bool, date, datetime) or (
        isinstance(annotation, type) and issubclass(annotation, Enum)
    ):
        return annotation | str
    raise TypeError(f"YamlFront: no YAML form for {annotation!r}")


def _field_kwargs(info: Any) -> dict[str, Any]:
    """Description and, when it is plain data, the default shown in the schema.

    The default is documentation only: a section is built from the fields it sets, so the
    settings class's own default applies to every field left out.
    """
    kwargs: dict[str, Any] = {"description": info.description}
    if info.is_required():
        return kwargs
    default = info.get_default(call_default_factory=True)
    if isinstance(default, Enum):  # e.g. a schedule's default status: shown as written
        default = default.value
    if isinstance(default, tuple):
        default = list(default)
    plain = isinstance(default, _SCALARS) or (
        isinstance(default, list) and all(isinstance(item, _SCALARS) for item in default)
    )
    kwargs["default"] = default if plain else None
    return kwargs


def set_fields(settings: BaseModel, *names: str) -> dict[str, Any]:
    """The fields of `settings` given a value (all, or `names`): keyword arguments for a
    factory whose own defaults apply to the rest."""
    wanted = names or tuple(settings.model_fields_set)
    return {
        name: getattr(settings, name)
        for name in wanted
        if name in settings.model_fields_set and getattr(settings, name) is not None
    }


__all__ = ["YamlFront", "located_error", "secret_reference", "set_fields"]
