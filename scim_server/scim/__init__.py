"""The SCIM 2.0 protocol core: schemas, filters, PATCH, projection and errors.

Nothing here knows about Flask or about storage, so every backend and every transport
shares one implementation that unit tests exercise directly.
"""
