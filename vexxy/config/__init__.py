"""The analysis configuration: the model customers write, its public form and hash, its sealed secrets."""
