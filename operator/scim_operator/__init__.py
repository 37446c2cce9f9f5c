"""The kubescim operator: reconciles Organizations and ScimDirectories (kopf)."""
