"""Per-face MODNet matte time: ``python bench/bench_modnet.py`` prints a Markdown table.

A MODNet with random weights (the same graph and cost as the official weights) is exported to
a temporary folder, then ``MattingSession.predict`` runs on a 720 x 720 RGB image (FacePop's
default face size): warm-up runs first, then the median of N timed runs, on CPU and, when
onnxruntime offers it, CUDA. Each call is the whole per-face cost: resize, scaling, the
network, and resizing the matte back. Building the model needs torch and onnx.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

if TYPE_CHECKING:
    from modnet.matting import MattingSession

REPO_ROOT = Path(__file__).resolve().parents[1]
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

logger = logging.getLogger("bench_modnet")


@dataclass(frozen=True)
class Timing:
    provider: str
    image_side: int
    network_size: tuple[int, int]
    runs: int
    milliseconds: list[float]

    def row(self) -> str:
        net_h, net_w = self.network_size
        ms = self.milliseconds
        return (
            f"| {self.provider.removesuffix('ExecutionProvider')} "
            f"| {self.image_side}x{self.image_side} | {net_w}x{net_h} | {self.runs} "
            f"| {statistics.median(ms):.1f} | {min(ms):.1f} | {max(ms):.1f} |"
        )


def time_predict(
    session: MattingSession, image: np.ndarray, short_side: int, warmup: int, runs: int
) -> list[float]:
    for _ in range(warmup):
        session.predict(image, short_side=short_side)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        session.predict(image, short_side=short_side)
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def benchmark(
    model_path: Path, image_side: int, short_sides: Sequence[int], warmup: int, runs: int
) -> list[Timing]:
    # imported here, once main() has put the checkout on sys.path
    from modnet.matting import MattingSession
    from modnet.preprocess import network_input_size

    image = np.random.default_rng(0).integers(0, 256, (image_side, image_side, 3), np.uint8)
    provider_sets = [[CPU]]
    if CUDA in ort.get_available_providers():
        provider_sets.append([CUDA, CPU])
    results = []
    for providers in provider_sets:
        session = MattingSession(model_path, providers=providers)
        if session.provider != providers[0]:
            logger.warning("%s did not start; skipped", providers[0])
            continue
        for short_side in short_sides:
            network_size = network_input_size(image_side, image_side, short_side=short_side)
            timings = time_predict(session, image, short_side, warmup, runs)
            results.append(Timing(session.provider, image_side, network_size, runs, timings))
    return results


def markdown_table(results: Sequence[Timing]) -> str:
    header = [
        "| provider | face image | network input | runs | median ms | min ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + [timing.row() for timing in results])


def environment() -> str:
    return (
        f"onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())}); "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads; "
        f"Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per row (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--size", type=int, default=720, help="face image side (default 720)")
    parser.add_argument(
        "--short-sides",
        type=int,
        nargs="+",
        default=[512, 256],
        help="network short sides to time (default: 512, MODNet's training size, and 256)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing the package
        sys.path.insert(0, str(REPO_ROOT))
    from modnet.export import export_random_onnx  # needs torch and onnx

    with tempfile.TemporaryDirectory(prefix="bench-modnet-") as folder:
        model_path = export_random_onnx(Path(folder) / "modnet-random.onnx")
        results = benchmark(model_path, args.size, args.short_sides, args.warmup, args.runs)
    print(markdown_table(results))
    print()
    print(f"Environment: {environment()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
