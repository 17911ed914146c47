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
