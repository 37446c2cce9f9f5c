"""Change events: what a provisioning change emits, and how applications see directory objects.

``model`` holds the event types and the change records storage writes in its
transactions; ``objects`` turns stored SCIM resources into the normalized directory
users and groups (and ``previous_attributes``) that the API and webhooks carry.
"""
