"""Data layer: one module per dataset, one helper for finding and checking files."""
