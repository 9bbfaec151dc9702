"""`python -m bench [name ...]`: run the named benchmarks (all when none is named)."""

from __future__ import annotations

import sys

from bench import broadcast, county, intake, latency, video

BENCHMARKS = {"intake": intake.main, "broadcast": broadcast.main, "video": video.main,
              "latency": latency.main, "county": county.main}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return BENCHMARKS[argv[0]](argv[1:])
    if argv and argv[0] not in ("-h", "--help"):
        print(f"unknown benchmark {argv[0]!r}; choose from: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if argv:
        print(__doc__)
        return 0
    return max(run([]) for run in BENCHMARKS.values())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
