"""``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 section 4)."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..scim.schemas import ResourceType, Schema, all_schemas, resource_types

DOCS = "https://github.com/kubescim/kubescim#readme"


def service_provider_config(settings: Settings, base_url: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": DOCS,
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": settings.max_bulk_operations,
            "maxPayloadSize": settings.max_body_bytes,
        },
        "filter": {"supported": True, "maxResults": settings.max_page_size},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with the directory's bearer token (RFC 6750)",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "documentationUri": DOCS,
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def resource_type_doc(rt: ResourceType, base_url: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
        "schemaExtensions": [{"schema": e.id, "required": False} for e in rt.extensions],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{rt.name}"},
    }


def schema_doc(schema: Schema, base_url: str) -> dict[str, Any]:
    doc = schema.to_json()
    doc["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema.id}"}
    return doc


def find_resource_type(name: str) -> ResourceType | None:
    return next((rt for rt in resource_types() if rt.name.lower() == name.lower()), None)


def find_schema(urn: str) -> Schema | None:
    return next((s for s in all_schemas() if s.id.lower() == urn.lower()), None)
