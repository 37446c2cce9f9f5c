"""HTTP layer: Flask blueprints over the protocol core and storage."""
