"""Directory state in the cluster itself: one ConfigMap (or Secret) per user and group.

``objects`` (names, JSON, labels, byte cap; pure), ``memquery`` (filters, sorting and
paging in memory), ``objectapi`` (the API calls), ``ratelimit``, ``cache`` (list and
watch), ``claims`` (unique names) and ``store`` (the ``Storage`` contract).
"""
