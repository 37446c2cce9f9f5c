"""kubescim SCIM 2.0 server."""

__version__ = "0.1.0"
