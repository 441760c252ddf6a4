"""Analysis stage: each analysis is a function on arrays returning numbers and a figure.

`gaitsae.report.run.analyze_run` (one layer up, above the clinical stage) gathers the arrays of
a run (latents, curves, directions, metadata), calls every analysis and the clinical section,
and the report lays the results out.
"""
