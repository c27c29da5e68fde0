"""Custom actions, one module per feature. The action server loads this package."""
