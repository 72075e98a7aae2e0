"""The OpenAPI 3.1 document of the REST API, from the same pydantic models that validate it."""

from __future__ import annotations

import json
from typing import Any

from ditbot.domain.records import ClientRecord, CollaboratorRecord, DitRecord
from ditbot.web.api import ExchangeIn

PARTY = {
    "type": ["object", "null"],
    "properties": {
        "kind": {"enum": ["collaborator", "contact"]},
        "code": {"type": "string"},
        "name": {"type": "string"},
    },
}
DIT = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "title": {"type": "string"},
        "state": {"type": "string"},
        "client": {"type": "object"},
        "contact": PARTY,
        "technician": PARTY,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "exchanges": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "relance": {"type": "boolean"},
                "last_direction": {"enum": ["received", "sent", None]},
                "last_is_relance": {"type": "boolean"},
            },
        },
    },
}
EXCHANGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "dit": {"type": "string"},
        "direction": {"enum": ["received", "sent"]},
        "type": {"type": "string"},
        "sent_by": PARTY,
        "received_by": PARTY,
        "recipient_email": {"type": ["string", "null"]},
        "subject": {"type": ["string", "null"]},
        "detail": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "source": {"enum": ["slack", "portal", "mail", "api"]},
        "author": PARTY,
        "mail": {"type": ["object", "null"]},
        "deleted": {"type": ["object", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
UNAVAILABLE = {
    "description": "the database does not answer for now; retry the same request later",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
PROBLEM = {
    "description": "error",
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "object"},
                },
            }
        }
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _put(tag: str, key: str, model: str, answer: str) -> dict[str, Any]:
    return {
        "put": {
            "tags": [tag],
            "summary": f"Create or update a {tag} by {key}",
            "parameters": [
                {"name": key, "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {"required": True, **_json(_ref(model))},
            "responses": {
                "200": {"description": "updated", **_json(_ref(answer))},
                "201": {"description": "created", **_json(_ref(answer))},
                "400": PROBLEM,
                "401": PROBLEM,
            },
        }
    }


def document(server_url: str) -> dict[str, Any]:
    """The whole document; `server_url` is DITBOT_PUBLIC_URL."""
    number = [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}]
    schemas: dict[str, Any] = {
        "Collaborator": CollaboratorRecord.model_json_schema(),
        "Client": ClientRecord.model_json_schema(),
        "DitIn": DitRecord.model_json_schema(),
        "ExchangeIn": ExchangeIn.model_json_schema(),
        "Dit": DIT,
        "Exchange": EXCHANGE,
    }
    for schema in list(schemas.values()):  # pydantic nests sub-models under $defs: lift them up
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
    text = json.dumps(schemas).replace("#/$defs/", "#/components/schemas/")
    schemas = json.loads(text)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "ditbot REST API",
            "version": "1",
            "description": "Reference data and exchanges of DITs. Bearer token: DITBOT_API_TOKEN.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": {
            "/api/v1/collaborators/{code}": _put(
                "collaborator", "code", "Collaborator", "Collaborator"
            ),
            "/api/v1/clients/{code}": _put("client", "code", "Client", "Client"),
            "/api/v1/dits/{number}": {
                **_put("dit", "number", "DitIn", "Dit"),
                "get": {
                    "tags": ["dit"],
                    "summary": "A DIT and its exchange indicators",
                    "parameters": number,
                    "responses": {
                        "200": {"description": "the DIT", **_json(_ref("Dit"))},
                        "404": PROBLEM,
                    },
                },
            },
            "/api/v1/dits/{number}/exchanges": {
                "get": {
                    "tags": ["exchange"],
                    "summary": "Every exchange of a DIT in time order, deleted ones included",
                    "parameters": number,
                    "responses": {
                        "200": {
                            "description": "the exchanges",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "dit": {"type": "string"},
                                        "exchanges": {"type": "array", "items": _ref("Exchange")},
                                    },
                                }
                            ),
                        },
                        "404": PROBLEM,
                    },
                },
                "post": {
                    "tags": ["exchange"],
                    "summary": "Log an exchange (defaults of DOMAIN.md apply)",
                    "parameters": number
                    + [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                    "requestBody": {"required": True, **_json(_ref("ExchangeIn"))},
                    "responses": {
                        "201": {"description": "logged", **_json(_ref("Exchange"))},
                        "200": {
                            "description": "already logged with this Idempotency-Key",
                            **_json(_ref("Exchange")),
                        },
                        "400": PROBLEM,
                        "401": PROBLEM,
                        "404": PROBLEM,
                        "409": PROBLEM,
                    },
                },
            },
            "/api/v1/portal/messages": {
                "post": {
                    "tags": ["portal"],
                    "summary": "Portal webhook (HMAC signed, CONTRACT.md s. 6; no bearer token)",
                    "security": [],
                    "responses": {
                        "201": {"description": "stored", **_json(_ref("Exchange"))},
                        "200": {
                            "description": "message_id already stored",
                            **_json(_ref("Exchange")),
                        },
                        "400": PROBLEM,
                        "401": PROBLEM,
                        "404": PROBLEM,
                        "409": PROBLEM,
                        "413": PROBLEM,
                    },
                }
            },
        },
    }
    for operations in spec["paths"].values():  # every route may meet a database outage
        for operation in operations.values():
            operation["responses"]["503"] = UNAVAILABLE
    return spec
