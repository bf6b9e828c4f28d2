"""Chat records, their generation and ingestion, and the LightningDataModules that feed training."""
