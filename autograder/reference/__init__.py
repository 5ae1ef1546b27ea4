"""Reference implementations, one module per notebook: the source of every reference value."""
