"""Report stage: lays analyses out as one self-contained HTML file."""
