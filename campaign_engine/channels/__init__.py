"""Channel providers: the contract, one module per provider, the in-memory twin, the registry."""
