"""socketlabs-kafka-bridge: SocketLabs Event Webhook posts into Kafka topics, acknowledged end to end."""

__version__ = "0.1.0"
