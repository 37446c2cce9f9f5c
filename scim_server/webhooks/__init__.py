"""Delivering change events to the webhooks Organizations declare (``kubescim webhooks run``)."""
