"""One LightningModule per training stage."""
