"""Clinical use of a run: deviation from a healthy reference, abnormality scores, pathology
classes and the features that tell them apart (docs/clinical.md)."""
