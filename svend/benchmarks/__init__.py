"""`make bench` measurements: each module prints a table of ratios measured in one process."""
