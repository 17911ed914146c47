"""Every service's OpenAPI document is valid OpenAPI 3 and documents each declared route."""
from __future__ import annotations

import importlib
import re

import pytest
from openapi_spec_validator import validate

SERVICES = ["initiatives", "letters_of_intent", "meetings", "evaluations", "audit"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_is_valid_and_complete(service: str) -> None:
    api = importlib.import_module(f"services.{service}.service").api
    document = api.spec()
    validate(document)
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    declared = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path), route.method.lower()) for route in api.routes}
    assert documented == declared


@pytest.mark.parametrize("service", SERVICES)
def test_every_body_documents_413_for_a_body_over_the_limit(service: str) -> None:
    """Found by the fuzzing: a body over 1 MiB gets 413, which the documents did not declare."""
    document = importlib.import_module(f"services.{service}.service").api.spec()
    with_body = [(path, operation) for path, operations in document["paths"].items()
                 for operation in operations.values() if "requestBody" in operation]
    assert with_body or service == "audit"
    for path, operation in with_body:
        too_large = operation["responses"].get("413")
        assert too_large is not None, f"{path}: 413 not documented"
        assert too_large["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
