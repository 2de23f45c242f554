"""survey-audit: reproduce and audit the statistics of Thorn's survivor surveys.

The library behind the Snakemake workflow: one module per concept (codebook, readers, cleaning, design,
estimates, weighting, tables, significance, audit, manifest, synthetic, report), each a set of small pure
functions over pandas frames.
"""

__version__ = "0.1.0"
