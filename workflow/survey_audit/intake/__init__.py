"""Intake: raw bytes in, harmonised respondents and findings out.

:mod:`.readers` reads the files survey platforms export (CSV in any common encoding and delimiter, the
platform layout, XLSX, SPSS and Stata) as text exactly as written, into columns (text through Arrow's CSV reader,
XLSX through calamine, SPSS and Stata through pyreadstat); :mod:`.harmonise` maps a wave's raw columns
onto the harmonised variables through its codebook, replacing identifiers by pseudonyms and dropping free text;
:mod:`.cleaning` applies the wave's cleaning rules in a fixed order and derives the derived variables.
"""
