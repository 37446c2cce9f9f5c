"""The Python side of ``crds/``: the contract between the operator and the server.

What the CustomResourceDefinitions name (API group, version, kinds, plurals, condition
types), what the operator writes for the server to read (labels, annotations, the token
Secret's format, written and read side by side), the spec's grammar (directory ids,
endpoints, durations), and the Kubernetes client both sides use. The operator and the
server's token registry import this package; it imports neither.
"""
