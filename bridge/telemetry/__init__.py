"""What the bridge tells its operator: Prometheus metrics and log lines."""
