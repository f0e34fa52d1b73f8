"""What a contributor runs on the repository: invoke new, the chart, lock files, lint files."""
