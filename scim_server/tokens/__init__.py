"""Bearer tokens: minting and checking them, and the registries that know which are valid.

``registry.TokenRegistry`` is the interface the HTTP layer uses; ``local`` (files in the
state directory), ``manifests`` (directories declared by YAML, without a cluster) and
``kubernetes`` (the operator's Secrets, trusted per ``trust``) implement it, and
``factory.open_token_registry`` picks one from the settings.
"""
