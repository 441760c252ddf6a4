"""Report stage: analyses one run (run.py: every analysis and the clinical section), compares
runs in one table (compare.py) and lays them out as one self-contained HTML file."""
