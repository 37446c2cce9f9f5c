"""Moving a directory between backends: an NDJSON export and a validated, all-checked import.

``format`` reads and writes the lines, ``plan`` checks a whole file before anything is
written, ``runner`` talks to a ``Storage``.
"""
