"""OpenAPI for bodies FastAPI does not parse itself.

The matching routes read raw bytes and validate them with `matcher.boundary.parse_body`
(exactly as the CLI does, JSON mode, so strict dates accept ISO strings). FastAPI therefore
does not see a body parameter; `json_body` documents it on the operation, and
`DocumentedAPI` adds the request models' JSON Schemas to `components/schemas`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from matcher.http.examples import EXAMPLES
from matcher.http.schemas import ErrorBody

REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for an operation whose JSON body is `model`, with its examples."""
    content: dict[str, Any] = {"schema": {"$ref": REF.format(model=model.__name__)}}
    if model.__name__ in EXAMPLES:
        content["examples"] = EXAMPLES[model.__name__]
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def request_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """JSON Schemas (validation mode) of `models` and everything they reference."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


class DocumentedAPI(FastAPI):
    """FastAPI whose OpenAPI also holds the schemas of the raw-body request models and of
    the canonical error body."""

    request_models: list[type[BaseModel]]

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, built once, request schemas merged into components."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        models = [*getattr(self, "request_models", []), ErrorBody]  # errors: `error_responses`
        for name, sub in request_schemas(models).items():
            if name in components and components[name] != sub:
                raise RuntimeError(f"OpenAPI schema name clash: {name}")
            components[name] = sub
        self.openapi_schema = schema
        return schema
