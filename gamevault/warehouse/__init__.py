"""GameVault."""
