import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from bridge.kafka.partitioner import murmur2, partition


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


# Kafka's own vectors (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
@pytest.mark.parametrize(
    "key, java",
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_is_the_java_clients(key: bytes, java: int) -> None:
    assert signed(murmur2(key)) == java


def test_murmur2_equals_aiokafkas_for_every_length() -> None:
    rng = random.Random(7)
    for length in range(0, 70):
        for _ in range(30):
            data = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2(data) == aiokafka_murmur2(data), data


def test_partition_equals_aiokafkas_default() -> None:
    rng = random.Random(8)
    default = DefaultPartitioner()
    for partitions in (1, 3, 7, 12):
        all_partitions = list(range(partitions))
        for _ in range(200):
            key = f"{rng.getrandbits(64):x}-{rng.randrange(10**6)}".encode()
            assert partition(key, all_partitions, all_partitions) == default(
                key, all_partitions, all_partitions
            )


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert {partition(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
    assert partition(None, [0, 1, 2], []) in (0, 1, 2)
