"""The workflow's stages, one module per Snakemake rule, in the order they run:

:mod:`.ingest` → :mod:`.clean` → :mod:`.weight` → :mod:`.tabulate` → :mod:`.associations` → :mod:`.families`
→ :mod:`.audit` → :mod:`.publish`, and :mod:`.report` and :mod:`.manifest` over them. Each reads its inputs, calls the layers
below (:mod:`survey_audit.intake`, :mod:`survey_audit.stats`) and writes its outputs; the statistical choices
the tabulate and association stages share are set out in :mod:`.conventions`.
"""
