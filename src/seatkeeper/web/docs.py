"""API documentation at /docs, drawn by Swagger UI served from seatkeeper itself."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

import seatkeeper
from seatkeeper.web.errors import AnyRequest

DESCRIPTION = """\
seatkeeper holds an account's concurrent licenses: every agent session takes one.

**Agent Applications** open a session with the account's application key
(`Authorization: Bearer sk_app_...`) and make every later call for that session
with the session token it returns (`Authorization: Bearer sk_sess_...`).

**Admins** call the account routes with an admin API token: a user API token
of an account_admin or super_admin (`Authorization: Bearer sk_user_...`, created
with `seatkeeper tokens create ACCOUNT --kind user --user USERNAME`).

Errors are `{"error": {"code": "...", "message": "..."}}`.
"""


def _bearer(description: str) -> SecurityScheme:
    return SecurityScheme(type="http", scheme="bearer", description=description)


class SwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI with its script and style served locally, and no inline script."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="")

    def render(self, request: AnyRequest, openapi_schema: dict[str, Any]) -> bytes:
        title = openapi_schema["info"]["title"]
        static = "/static/vendor/swagger-ui"
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="{self.get_openapi_json_route(request)}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
""".encode()


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document and its pages: /docs (Swagger UI) and /docs/openapi.json."""
    return OpenAPIConfig(
        title="seatkeeper",
        version=seatkeeper.__version__,
        description=DESCRIPTION,
        path="/docs",
        render_plugins=[SwaggerUI(), JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "ApplicationKey": _bearer("The account's application key (sk_app_...)."),
                "SessionToken": _bearer("The token returned when the session opened."),
                "WaitTicket": _bearer("The ticket returned when an open waited in line."),
                "AdminToken": _bearer("A user API token (sk_user_...) of an account admin."),
                "MetricsToken": _bearer(
                    "SEATKEEPER_METRICS_TOKEN, when it is set; without it, /metrics answers "
                    "only to this machine."
                ),
            }
        ),
    )


class StrictStructs(OpenAPISchemaPlugin):
    """A body that refuses unknown fields says so in the document: additionalProperties
    false (found by the API fuzzing, which sent extra fields the document allowed).

    It asks the plugin that documents every other msgspec Struct for the schema, then
    closes it: the schema generator hands over the plugins it knows."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_subclass_of(msgspec.Struct) and bool(
            field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        others = (plugin for plugin in schema_creator.plugins if plugin is not self)
        struct = next(p for p in others if _supports(p, field_definition))
        schema: Schema = struct.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def _supports(plugin: Any, field_definition: FieldDefinition) -> bool:
    if isinstance(plugin, OpenAPISchemaPlugin):
        return plugin.is_plugin_supported_field(field_definition)
    return bool(plugin.is_plugin_supported_type(field_definition.annotation))
