"""Summarise py-spy collapsed stacks: the functions with the most samples, inclusive and self.

Usage: python -m bench.profile_top FILE [N]
"""

from __future__ import annotations

import sys
from collections import Counter


def main(path: str, n: int = 40) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path) as lines:
        stacks = lines.read().splitlines()
    for line in stacks:
        stack, _, count = line.rstrip().rpartition(" ")
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    print(f"{total} samples")
    print("-- inclusive")
    for frame, samples in inclusive.most_common(n):
        print(f"{100 * samples / total:5.1f}%  {frame}")
    print("-- self")
    for frame, samples in own.most_common(n):
        print(f"{100 * samples / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
