"""Check answers of the API against the OpenAPI document: the schema of their route and status.

`CheckedClient` is a Flask test client that checks every answer under /api/ it gets; a test
module sets `app.test_client_class = CheckedClient` and each of its requests is checked.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from ditbot.web.openapi import document

# What the checks met, as (operationId, status): a test can say which answers it covered.
SEEN: set[tuple[str, int]] = set()


@cache
def spec() -> dict[str, Any]:
    return document("http://localhost:3000")


def answer_schema(operation: dict[str, Any], status: int, content_type: str) -> dict[str, Any]:
    """The schema the document gives for `status` of `operation` in `content_type`."""
    answers = operation["responses"]
    # `default` covers the unexpected (a 500); every status a route means to answer is listed.
    key = "default" if status >= 500 and str(status) not in answers else str(status)
    assert key in answers, f"{operation['operationId']}: {status} is not documented"
    content = answers[key]["content"]
    media = content_type.split(";")[0].strip()
    assert media in content, f"{operation['operationId']} {status}: {media} is not {set(content)}"
    return dict(content[media]["schema"])


def check(schema: dict[str, Any], body: Any) -> None:
    """Validate `body` with a schema of the document (its `$ref`s point into the components)."""
    rooted = {**schema, "components": spec()["components"]}
    jsonschema.Draft202012Validator(
        rooted, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(body)


def operation_of(app: Flask, method: str, path: str) -> dict[str, Any] | None:
    """The document's operation for this request, or None when no route of the app matches."""
    try:
        rule, _args = app.url_map.bind("localhost").match(path, method=method, return_rule=True)
    except HTTPException:
        return None
    template = rule.rule.replace("<", "{").replace(">", "}")
    operations = spec()["paths"].get(template)
    assert operations and method.lower() in operations, f"{method} {template} is not documented"
    operation: dict[str, Any] = operations[method.lower()]
    return operation


def check_answer(app: Flask, method: str, path: str, response: TestResponse) -> None:
    """The answer to `method path` is what the document says for its route and status."""
    if not path.startswith("/api/"):
        return
    operation = operation_of(app, method, path)
    if operation is None:  # no such route or method: a problem all the same
        check(spec()["components"]["schemas"]["Problem"], response.get_json(force=True))
        assert response.content_type == "application/problem+json"
        return
    status = response.status_code
    schema = answer_schema(operation, status, response.content_type)
    check(schema, response.get_json(force=True))
    SEEN.add((operation["operationId"], status))


class CheckedClient(FlaskClient):
    """A test client whose every /api/ answer is checked against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        check_answer(self.application, request.method, request.path, response)
        return response
