"""Training stage: config, subject-wise split, engine, metrics, run directories."""
