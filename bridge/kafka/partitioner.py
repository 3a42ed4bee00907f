"""Kafka's default partitioner for keyed records: murmur2 of the key, as the Java client hashes it.

aiokafka's `DefaultPartitioner` computes the same hash a byte at a time; reading the key as
little-endian 32-bit words halves its cost (docs/performance.md). The partition must be
the Java client's, so that every producer of these topics puts a MessageId in the same partition:
tests/unit/kafka/test_partitioner.py checks it against Kafka's own test vectors and aiokafka's hash.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence


def murmur2(data: bytes) -> int:
    """org.apache.kafka.common.utils.Utils.murmur2, as an unsigned 32-bit number."""
    m = 0x5BD1E995  # locals and literals: a global lookup per operation costs a third more
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * m) & 0xFFFFFFFF) ^ ((k * m) & 0xFFFFFFFF)
    tail = length & 3
    if tail:
        end = words * 4
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """aiokafka's partitioner interface: Java's `toPositive(murmur2(key)) % partitions`; a
    record without a key goes to a random available partition, as aiokafka's default does."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
