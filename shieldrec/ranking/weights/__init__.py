"""The learned ranker's shipped weights (ranker-v*.json) and their model card (README.md)."""
