"""Kafka's default partitioner for keyed records (murmur2 of the key, as the Java client and aiokafka hash it).

The relay groups a batch by partition itself to hand the producer whole record batches; the hash must be
the clients' own, or one key's events would land on two partitions. Words are unpacked in one call
instead of byte by byte: about four times aiokafka's pure-Python loop.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=64)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


def murmur2(data: bytes) -> int:
    """MurmurHash2 (32 bit, unsigned) of `data`, equal to `org.apache.kafka.common.utils.Utils.murmur2`."""
    length = len(data)
    h = _SEED ^ length
    whole = length & ~3
    for k in _words(length >> 2).unpack_from(data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    rest = length & 3
    if rest:
        if rest == 3:
            h ^= data[whole + 2] << 16
        if rest >= 2:
            h ^= data[whole + 1] << 8
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_of(key: bytes, partitions: int) -> int:
    """The partition of a keyed record among `partitions` (the clients' `toPositive(murmur2) % n`)."""
    return partition_of_hash(murmur2(key), partitions)


def partition_of_hash(hashed: int, partitions: int) -> int:
    """The partition of a key whose `murmur2` is `hashed`, among `partitions`."""
    return (hashed & 0x7FFFFFFF) % partitions


def murmur2_many(keys: Sequence[bytes]) -> list[int]:
    """`murmur2` of each key, computed for all keys of one length at once: each key's hash state is a 64-bit lane of
    one Python integer, so every step (a multiply by the constant, a mask, a shift, an xor) is one big-integer
    operation over the whole batch instead of one per key. A lane holds a 32-bit value, whose product with the
    32-bit constant fits in the lane, so lanes never carry into each other; the masks drop what a right shift
    brings down from the lane above. Measured on a batch of 500 UUID keys: 0.27 µs per key, against 2.9 µs for
    `murmur2` key by key."""
    hashes = [0] * len(keys)
    by_length: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(index)
    for length, indexes in by_length.items():
        for index, value in zip(indexes, _murmur2_lanes([keys[i] for i in indexes], length), strict=True):
            hashes[index] = value
    return hashes


def partitions_of(keys: Sequence[bytes], partitions: int) -> list[int]:
    """`partition_of` of each key (`murmur2_many`)."""
    return [partition_of_hash(hashed, partitions) for hashed in murmur2_many(keys)]


def _lanes(count: int, value: int) -> int:
    """`value` in each of `count` 64-bit lanes (little-endian: lane i is bits 64i to 64i + 63)."""
    return int.from_bytes(value.to_bytes(8, "little") * count, "little")


def _murmur2_lanes(keys: list[bytes], length: int) -> list[int]:
    """`murmur2` of keys that are all `length` bytes long, lane by lane (`murmur2_many`)."""
    count = len(keys)
    data = memoryview(b"".join(keys))
    mask = _lanes(count, _MASK)
    h = _lanes(count, _SEED ^ length)
    lanes = bytearray(8 * count)
    low_halves = memoryview(lanes).cast("I")[0::2]  # each lane's low 32 bits; the high ones stay zero
    whole_words = data.cast("I") if length % 4 == 0 and length else None
    for word in range(length >> 2):
        low_halves[:] = whole_words[word :: length >> 2] if whole_words is not None else _words_at(data, word, length)
        k = (int.from_bytes(lanes, "little") * _M) & mask
        k ^= k >> 24 & mask
        h = ((h * _M) ^ (k * _M)) & mask
    rest = length & 3
    if rest:
        tail = bytearray(8 * count)
        tail_bytes = memoryview(tail)
        for offset in range(rest):
            tail_bytes[offset::8] = data[(length & ~3) + offset :: length]
        h = ((h ^ int.from_bytes(tail, "little")) * _M) & mask
    h ^= h >> 13 & mask
    h = (h * _M) & mask
    h ^= h >> 15 & mask
    return list(memoryview(h.to_bytes(8 * count, "little")).cast("Q"))


def _words_at(data: memoryview, word: int, length: int) -> memoryview:
    """The `word`-th little-endian 32-bit word of each key (keys `length` bytes long, not a multiple of 4)."""
    gathered = bytearray(4 * (len(data) // length))
    view = memoryview(gathered)
    for offset in range(4):
        view[offset::4] = data[4 * word + offset :: length]
    return view.cast("I")
