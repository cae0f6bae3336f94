"""The API's OpenAPI 3.1 document, built from :data:`~.routing.ROUTES` and the routes' models.

Nothing here describes one route by hand: each operation comes from its
:class:`~.routing.Route` (method, path, capability, summary, models, status)
and every schema from pydantic's own JSON Schema of the models, in the wire
format's casing. The API serves the document at ``/api/v1/openapi.json``.

Example::

    from hookwire.console.openapi import document
    spec = document()
    spec["paths"]["/accounts/{accountId}/webhooks"]["get"]["operationId"]  # 'listWebhooks'
"""

from __future__ import annotations

import inspect
import sys
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .._version import __version__
from .problems import PROBLEM_TYPE
from .routing import ROUTES, ApiModel, Route
from .sessions import COOKIE_NAME

__all__ = ["Problem", "ProblemField", "document"]

_REF = "#/components/schemas/{model}"
_Refs = dict[tuple[type[Any], JsonSchemaMode], str]
"""Each model's ``$ref`` in the components, by the model and its mode (input or output)."""
_API_PREFIX = "/api/v1"

# Every problem status an operation may answer, with the shared response's name.
_PROBLEMS = {
    400: ("BadRequest", "The request is malformed: not JSON, or a bad Idempotency-Key."),
    401: ("NotAuthenticated", "No API key, session or host login; or a key that is not valid."),
    403: ("Forbidden", "The caller lacks the capability, or a session's write lacks CSRF."),
    404: ("NotFound", "No such resource in an account the caller sees (or no such account)."),
    409: ("Conflict", "A limit is reached, or the Idempotency-Key was used for another request."),
    413: ("TooLarge", "The body is over 1 MiB."),
    415: ("UnsupportedMediaType", "The body is not sent as application/json."),
    422: ("Unprocessable", "A field is not valid; ``errors`` names each one."),
}


class ProblemField(ApiModel):
    """One refused field of a request, named as the request spelled it."""

    field: str
    message: str


class Problem(ApiModel):
    """An error, as an RFC 9457 problem document (``application/problem+json``).

    Some problems carry more members, such as ``limit`` on a webhook limit's 409.
    """

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    hint: str | None = None
    errors: list[ProblemField] | None = None


def document(url_prefix: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, for a console mounted at ``url_prefix``.

    The document is built once per prefix (the routes are fixed once the
    resource modules are imported) and must not be changed by the caller.
    """
    return _build(url_prefix.rstrip("/"))


@cache
def _build(url_prefix: str) -> dict[str, Any]:
    from . import api  # noqa: F401  (declares every route)

    refs, components = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for found in ROUTES:
        operation = _operation(found, refs, components)
        paths.setdefault(found.openapi_path, {})[found.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hookwire console API",
            "version": __version__,
            "description": (
                "Manage an LMS's webhooks, their deliveries and events. JSON in camelCase; "
                "errors are RFC 9457 problem documents. See docs/api.md."
            ),
        },
        "servers": [{"url": url_prefix + _API_PREFIX}],
        "security": [{"apiKey": []}, {"session": []}],
        "tags": _tags(),
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": _problem_responses(),
            "securitySchemes": _security_schemes(),
        },
    }


def _schemas() -> tuple[_Refs, dict[str, Any]]:
    """Each model's ``$ref`` (by model and mode) and the components' schemas."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for found in ROUTES:
        for model in (found.body, found.query):
            if model is not None:
                wanted[(model, "validation")] = None
        if found.response is not None:
            wanted[(found.response, "serialization")] = None
    mapping, top = models_json_schema(list(wanted), ref_template=_REF, by_alias=True)
    refs = {key: schema["$ref"] for key, schema in mapping.items()}
    return refs, dict(top.get("$defs", {}))


def _operation(
    found: Route,
    refs: _Refs,
    components: dict[str, Any],
) -> dict[str, Any]:
    """One route's operation object."""
    operation: dict[str, Any] = {
        "operationId": found.operation_id,
        "summary": found.summary,
        "tags": [_tag(found)],
        "x-capability": found.capability,
    }
    description = inspect.getdoc(found.view)
    needs = f"Needs the `{found.capability}` capability."
    operation["description"] = f"{description}\n\n{needs}" if description else needs
    parameters = _path_parameters(found)
    if found.query is not None:
        parameters += _query_parameters(components, refs[(found.query, "validation")])
    if found.unsafe:
        parameters.append(_IDEMPOTENCY_PARAMETER)
    if parameters:
        operation["parameters"] = parameters
    if found.body is not None:
        operation["requestBody"] = {
            "required": any(field.is_required() for field in found.body.model_fields.values()),
            "content": {"application/json": {"schema": {"$ref": refs[(found.body, "validation")]}}},
        }
    operation["responses"] = _responses(found, refs)
    return operation


_IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request answers the first answer "
        "again without running twice; with another request it is a 409."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _path_parameters(found: Route) -> list[dict[str, Any]]:
    """The path's parameters, named as ``Route.openapi_path`` spells them (camelCase)."""
    return [
        {
            "name": to_camel(name),
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if converter == "int" else {"type": "string"},
        }
        for name, converter in found.path_parameters
    ]


def _query_parameters(components: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One query parameter per field of the query model, with the field's own schema."""
    schema = components[ref.rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field_schema,
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters


def _responses(found: Route, refs: _Refs) -> dict[str, Any]:
    """The route's success answer, then every problem it may answer."""
    responses: dict[str, Any] = {}
    if found.response is None:
        responses["204"] = {"description": "Done; no content."}
    else:
        schema = {"$ref": refs[(found.response, "serialization")]}
        responses[str(found.status)] = {
            "description": found.summary,
            "content": {"application/json": {"schema": schema}},
        }
    for status in _problem_statuses(found):
        responses[str(status)] = {"$ref": f"#/components/responses/{_PROBLEMS[status][0]}"}
    responses["default"] = {"$ref": "#/components/responses/Problem"}
    return responses


def _problem_statuses(found: Route) -> list[int]:
    statuses = {401, 403}
    if found.path_parameters:
        statuses.add(404)
    if found.body is not None:
        statuses |= {400, 413, 415, 422}
    if found.query is not None:
        statuses.add(422)
    if found.unsafe:
        statuses |= {400, 409, 422}
    return sorted(statuses)


def _problem_responses() -> dict[str, Any]:
    content = {PROBLEM_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}}
    responses = {
        name: {"description": description, "content": content}
        for name, description in _PROBLEMS.values()
    }
    responses["Problem"] = {"description": "Any other error.", "content": content}
    return responses


def _security_schemes() -> dict[str, Any]:
    return {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An operator's API key (`hookwire console api-key create`).",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": COOKIE_NAME,
            "description": (
                "The session an access link was exchanged for; its writes also send the "
                "session's CSRF token as the `X-CSRF-Token` header."
            ),
        },
    }


def _tag(found: Route) -> str:
    return found.tag or found.view.__module__.rsplit(".", 1)[-1].replace("_", "-")


def _tags() -> list[dict[str, str]]:
    """Each tag once, in the routes' order, described by its module's first line."""
    tags: dict[str, str] = {}
    for found in ROUTES:
        module = sys.modules.get(found.view.__module__)
        doc = inspect.getdoc(module) if module is not None else None
        tags.setdefault(_tag(found), doc.split("\n", 1)[0] if doc else "")
    return [{"name": name, "description": text} for name, text in tags.items()]
