"""Analysis stage: each analysis is a function on arrays returning numbers and a figure.

`gaitsae.analysis.run.analyze_run` gathers the arrays of a run (latents, curves, directions,
metadata) and calls every analysis; the report layer lays the results out.
"""
