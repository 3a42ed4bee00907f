"""The Kafka side: the publisher, topic creation, a consumer for the tools, the partitioner."""
