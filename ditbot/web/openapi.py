"""The OpenAPI 3.1 document of the REST API and the portal webhook.

Built from two things only: the pydantic models of `ditbot/web/schemas.py` and of
`ditbot/domain/records.py` (the same classes the views read bodies with and answer with) and
the route table `ROUTES` below. It imports no view: `api.py` serves it. Tests check that every
route of the blueprints is in the table and that every answer validates against the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from ditbot.domain.records import ClientRecord, CollaboratorRecord, DitRecord, TeamRecord
from ditbot.portal.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_SECONDS
from ditbot.web.limits import API_MAX_BODY
from ditbot.web.schemas import (
    IDEMPOTENCY_KEY_MAX,
    PORTAL_MAX_BODY,
    ClientOut,
    CollaboratorOut,
    DitOut,
    DitsIn,
    DitsOut,
    ExchangeIn,
    ExchangeListOut,
    ExchangeOut,
    PortalMessageIn,
    ProblemOut,
    TeamOut,
)

REF_TEMPLATE = "#/components/schemas/{model}"
ModelMode = tuple[type[BaseModel], JsonSchemaMode]
Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Answer:
    """One documented status of a route: a JSON body of `model` (problem+json for problems)."""

    description: str
    model: type[BaseModel] | None = None  # None: any JSON object (the document itself)
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    name: str
    where: Literal["path", "header"]
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class Route:
    """One operation: Flask's `endpoint` and `path` (its rule, with `{name}` for `<name>`)."""

    endpoint: str
    method: Literal["get", "put", "post"]
    path: str
    tag: str
    summary: str
    answers: Mapping[int, Answer]
    body: type[BaseModel] | None = None
    parameters: tuple[Parameter, ...] = ()
    public: bool = False  # no bearer token (the webhook is signed instead)
    body_key: str | None = None  # a field of `body` the path gives: the body may leave it out


NUMBER = Parameter(
    "number",
    "path",
    {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]+$"},
    "the DIT number (trimmed, without regard to case)",
)
IDEMPOTENCY_KEY = Parameter(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": r"\S"},
    "the same key again answers 200 with the exchange it logged, and logs nothing",
    required=False,
)
PORTAL_SIGNATURE = (
    Parameter(
        TIMESTAMP_HEADER,
        "header",
        {"type": "string", "pattern": r"^[0-9]{1,12}$"},
        f"unix seconds; refused when more than {TOLERANCE_SECONDS} s away from now",
    ),
    Parameter(
        SIGNATURE_HEADER,
        "header",
        {"type": "string", "pattern": r"^v1=[0-9a-f]{64}$"},
        'v1=<hex>: HMAC-SHA256 of "{timestamp}.{raw body}" with DITBOT_PORTAL_SECRET',
    ),
)

UNAVAILABLE = Answer(
    "the database does not answer for now; nothing was recorded, retry the same request later",
    ProblemOut,
    {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
)
UNAUTHORIZED = Answer(
    "missing or wrong bearer token",
    ProblemOut,
    {"WWW-Authenticate": {"schema": {"type": "string"}}},
)
DISABLED = "the REST API is disabled (DITBOT_API_TOKEN is not set)"
INVALID = Answer("invalid body or path value: `errors` names each field at fault", ProblemOut)
NOT_TEXT = Answer("a path value is not text (it holds a NUL character)", ProblemOut)
TOO_LARGE = Answer(f"the body is over {API_MAX_BODY} bytes (8 MiB)", ProblemOut)


def _upsert(
    endpoint: str,
    path: str,
    key: str,
    body: type[BaseModel],
    out: type[BaseModel],
    *,
    names_others: bool = True,
) -> Route:
    """PUT of an import record: the path names it by `key`, a field of the record.
    `names_others`: the body may name other records (404 when one is unknown, 409 on a clash);
    a team names none."""
    refs = {
        404: Answer(
            "a client, contact or collaborateur the body names does not exist (`errors` "
            f"names the field), or {DISABLED}",
            ProblemOut,
        ),
        409: Answer(
            "the body clashes with what is stored (a Slack id or a Mail 1 that is another "
            "collaborateur's, a contact of another client): `errors` names the field",
            ProblemOut,
        ),
    }
    if not names_others:
        refs = {404: Answer(DISABLED, ProblemOut)}
    tag = path.split("/")[3].removesuffix("s")
    field = body.model_json_schema()["properties"][key]  # the path obeys the field's rules
    described = {name: value for name, value in field.items() if name != "title"}
    return Route(
        endpoint,
        "put",
        path,
        tag,
        f"Create or update a {tag} by {key}",
        {
            200: Answer("updated, or unchanged", out),
            201: Answer("created", out),
            400: INVALID,
            401: UNAUTHORIZED,
            **refs,
            413: TOO_LARGE,
            503: UNAVAILABLE,
        },
        body=body,
        parameters=(Parameter(key, "path", described, f"the {key} of the {tag}"),),
        body_key=key,
    )


ROUTES: tuple[Route, ...] = (
    _upsert(
        "api.put_collaborator",
        "/api/v1/collaborators/{code}",
        "code",
        CollaboratorRecord,
        CollaboratorOut,
    ),
    _upsert("api.put_client", "/api/v1/clients/{code}", "code", ClientRecord, ClientOut),
    _upsert(
        "api.put_team", "/api/v1/teams/{code}", "code", TeamRecord, TeamOut, names_others=False
    ),
    _upsert("api.put_dit", "/api/v1/dits/{number}", "number", DitRecord, DitOut),
    Route(
        "api.put_dits",
        "put",
        "/api/v1/dits",
        "dit",
        "Create or update many DITs at once (the import's rules: all or nothing)",
        {
            200: Answer(
                "every row was checked, then written: how many were created, changed, "
                "or left as they were",
                DitsOut,
            ),
            400: INVALID,
            401: UNAUTHORIZED,
            404: Answer(
                "a client, contact or collaborateur a row names does not exist (`errors` names "
                f"the row and field), or {DISABLED}",
                ProblemOut,
            ),
            409: Answer(
                "a row clashes with what is stored (a contact of another client): `errors` "
                "names the row and field",
                ProblemOut,
            ),
            413: TOO_LARGE,
            503: UNAVAILABLE,
        },
        body=DitsIn,
    ),
    Route(
        "api.get_dit",
        "get",
        "/api/v1/dits/{number}",
        "dit",
        "A DIT and its exchange indicators",
        {
            200: Answer("the DIT", DitOut),
            400: NOT_TEXT,
            401: UNAUTHORIZED,
            404: Answer(f"unknown DIT, or {DISABLED}", ProblemOut),
            503: UNAVAILABLE,
        },
        parameters=(NUMBER,),
    ),
    Route(
        "api.list_exchanges",
        "get",
        "/api/v1/dits/{number}/exchanges",
        "exchange",
        "Every exchange of a DIT in time order, deleted ones included",
        {
            200: Answer("the exchanges", ExchangeListOut),
            400: NOT_TEXT,
            401: UNAUTHORIZED,
            404: Answer(f"unknown DIT, or {DISABLED}", ProblemOut),
            503: UNAVAILABLE,
        },
        parameters=(NUMBER,),
    ),
    Route(
        "api.post_exchange",
        "post",
        "/api/v1/dits/{number}/exchanges",
        "exchange",
        "Log an exchange (the defaults of DOMAIN.md apply)",
        {
            201: Answer("logged", ExchangeOut),
            200: Answer("already logged with this Idempotency-Key", ExchangeOut),
            400: INVALID,
            401: UNAUTHORIZED,
            404: Answer(f"unknown DIT or party, or {DISABLED}", ProblemOut),
            409: Answer(
                "the DIT is closed, or the Idempotency-Key served for another request",
                ProblemOut,
            ),
            413: TOO_LARGE,
            503: UNAVAILABLE,
        },
        body=ExchangeIn,
        parameters=(NUMBER, IDEMPOTENCY_KEY),
    ),
    Route(
        "portal_webhook.receive",
        "post",
        "/api/v1/portal/messages",
        "portal",
        "Portal webhook: a client's message (HMAC signed, CONTRACT.md s. 6; no bearer token)",
        {
            201: Answer("stored as a received exchange", ExchangeOut),
            200: Answer("this message_id was already received: the same exchange", ExchangeOut),
            400: INVALID,
            401: Answer(
                "bad or old signature",
                ProblemOut,
                {"WWW-Authenticate": {"schema": {"type": "string"}}},
            ),
            404: Answer("unknown DIT or contact", ProblemOut),
            409: Answer(
                "the DIT is closed beyond the portal window, or this message_id was already "
                "received for another DIT",
                ProblemOut,
            ),
            413: Answer(f"the body is over {PORTAL_MAX_BODY} bytes", ProblemOut),
            503: Answer(
                "the database does not answer (retry later), or DITBOT_PORTAL_SECRET is not set",
                ProblemOut,
            ),
        },
        body=PortalMessageIn,
        parameters=PORTAL_SIGNATURE,
        public=True,
    ),
    Route(
        "api.openapi",
        "get",
        "/api/v1/openapi.json",
        "meta",
        "This document",
        {200: Answer("the OpenAPI 3.1 document")},
        public=True,
    ),
)


class ComponentNames(GenerateJsonSchema):
    """Components are named after the classes, less the `Out` of answers: Dit, Exchange."""

    def normalize_name(self, name: str) -> str:
        return super().normalize_name(name.removesuffix("Out"))

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        json_schema = super().model_schema(schema)
        title = json_schema.get("title")
        if isinstance(title, str):
            json_schema["title"] = title.removesuffix("Out")
        return json_schema


def components() -> tuple[Refs, dict[str, Any]]:
    """The `$ref` of each (model, mode) of the route table, and the schemas they point to."""
    pairs: dict[ModelMode, None] = {(ProblemOut, "serialization"): None}  # every `default`
    for route in ROUTES:
        if route.body is not None:
            pairs[(route.body, "validation")] = None
        for answer in route.answers.values():
            if answer.model is not None:
                pairs[(answer.model, "serialization")] = None
    refs, top = models_json_schema(
        list(pairs), ref_template=REF_TEMPLATE, schema_generator=ComponentNames
    )
    return dict(refs), top.get("$defs", {})


def _body_without_key(schemas: dict[str, Any], ref: dict[str, Any], key: str) -> dict[str, Any]:
    """A component for a body whose `key` the path gives: like `ref`, `key` not required."""
    name = ref["$ref"].rsplit("/", 1)[1]
    body = name.removesuffix("Record") + "Body"
    base = schemas[name]
    # The URL gives `key`: the body's properties leave it out (a body may still repeat it,
    # equal to the URL's, which no schema can say; a different one is a 400).
    schemas[body] = {
        **base,
        "title": body,
        "description": f"A {name} without its `{key}`: the URL gives it "
        "(a body that repeats it must give the same).",
        "properties": {n: v for n, v in base.get("properties", {}).items() if n != key},
        "required": [field for field in base.get("required", []) if field != key],
    }
    return {"$ref": REF_TEMPLATE.format(model=body)}


def _operation(route: Route, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in sorted(route.answers.items()):
        schema = refs[(answer.model, "serialization")] if answer.model else {"type": "object"}
        media = PROBLEM_JSON if answer.model is ProblemOut else JSON
        responses[str(status)] = {
            "description": answer.description,
            **({"headers": dict(answer.headers)} if answer.headers else {}),
            "content": {media: {"schema": schema}},
        }
    operation: dict[str, Any] = {
        "tags": [route.tag],
        "summary": route.summary,
        "operationId": route.endpoint,
    }
    if route.parameters:
        operation["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "schema": dict(p.schema),
                **({"description": p.description} if p.description else {}),
            }
            for p in route.parameters
        ]
    if route.body is not None:
        body = refs[(route.body, "validation")]
        if route.body_key:
            body = _body_without_key(schemas, body, route.body_key)
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    responses["default"] = {
        "description": "any other error, such as a 500 (logged with its traceback)",
        "content": {PROBLEM_JSON: {"schema": refs[(ProblemOut, "serialization")]}},
    }
    operation["responses"] = responses
    if route.public:
        operation["security"] = []
    return operation


def document(server_url: str) -> dict[str, Any]:
    """The whole document; `server_url` is DITBOT_PUBLIC_URL."""
    refs, schemas = components()
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method] = _operation(route, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ditbot REST API",
            "version": "1",
            "description": "Reference data and exchanges of DITs. Bearer token: DITBOT_API_TOKEN.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
    }
