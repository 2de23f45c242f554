"""The project's declared files, each read and checked in a room of its own: the workflow configuration
(:mod:`.settings`), the wave sheet (:mod:`.waves`), the harmonised variables (:mod:`.variables`), the
per-wave codebooks (:mod:`.codebook`), the table specifications (:mod:`.tables`), the registries of published
numbers (:mod:`.registry`) and the weighting specs (:mod:`.weighting`); :mod:`.loading` reads YAML strictly
and validates it against ``workflow/schemas/``, filling in the schemas' defaults.

Light to import (PyYAML and jsonschema only): the workflow reads all of these every time it starts.
"""
