"""Plan metadata: the snapshot format, capture from SRM, diff and restore."""
