"""Running the bridge: listeners, signals, graceful shutdown, worker processes."""
