"""survey-audit: reproduce and audit the statistics of Thorn's survivor surveys.

The library behind the Snakemake workflow, in layers that import downward only (``tests/test_layers.py``
checks it):

==========  ===============================================================================================
layer       rooms
==========  ===============================================================================================
ground      :mod:`.errors` (user-facing messages), :mod:`.formats` (deterministic writers),
            :mod:`.provenance` (module closure, hashes), :mod:`.adapter` (a workflow job under the error
            contract)
stats       design, estimates, significance, weighting algorithms, printed-number checks: no file I/O, no
            configuration; the public API, in R's vocabulary, is :mod:`survey_audit.stats`
config      the declared files: settings, wave sheet, variables, codebooks, tables, registries, weighting
intake      readers, harmonise, cleaning: raw bytes in, harmonised respondents out
stages      one module per workflow rule (ingest, clean, weight, tabulate, associations, families, audit,
            publish, report, manifest, ...) and the statistical conventions they share
tools       synthetic stand-in waves, releases, ad-hoc tabulation, new-wave codebook drafts
cli         the ``survey-audit`` command
==========  ===============================================================================================
"""

__version__ = "0.1.0"
