"""The vocabulary of stadtzeit: site and epoch manifests, their schema and validation."""
