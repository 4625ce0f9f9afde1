"""Export MODNet to ONNX (opset 17, dynamic batch, height and width), written atomically.

Command line::

    python -m modnet.export CHECKPOINT.ckpt OUT.onnx      # convert the official weights
    python -m modnet.export --random-weights OUT.onnx    # random weights, for tests/benchmarks

This module needs torch and onnx; the inference path (``modnet.matting``) does not.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch

from modnet.architecture import SIZE_MULTIPLE, MODNet, build_random_modnet
from modnet.atomic_file import atomic_output_path
from modnet.checkpoint import load_modnet_checkpoint
from modnet.errors import ModnetError, ModnetModelError
from modnet.signature import INPUT_NAME, ONNX_OPSET, OUTPUT_NAME

logger = logging.getLogger(__name__)

# Height and width of the example input used to trace the graph; any multiple of 32 works,
# and a small one keeps the export fast. The exported graph accepts any size.
_TRACE_SIZE = 2 * SIZE_MULTIPLE
_DYNAMIC_AXES = {0: "batch", 2: "height", 3: "width"}


def export_onnx(model: MODNet, output_path: str | os.PathLike[str]) -> Path:
    """Write ``model`` as an ONNX file with input ``"input"`` (N, 3, H, W), RGB in [-1, 1],
    and output ``"matte"`` (N, 1, H, W) in [0, 1]; H and W must be multiples of 32.

    The file is checked with ``onnx.checker`` and moved into place only when complete.
    Returns the output path.
    """
    output_path = Path(output_path)
    model = model.eval()
    example = torch.zeros(1, 3, _TRACE_SIZE, _TRACE_SIZE)
    with atomic_output_path(output_path) as partial_path, warnings.catch_warnings():
        # Expected warnings, silenced: the TorchScript exporter is chosen on purpose (the
        # dynamo one needs onnxscript and protobuf 4); MODNet's instance norms always use the
        # statistics of their input, in training and inference alike; the tracer warns about
        # torch's own argument checks on constant channel counts (the graph has no
        # data-dependent branch; tests compare it with PyTorch at several sizes).
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message=".*'instance_norm' is set to train=True.*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        torch.onnx.export(
            model,
            (example,),
            str(partial_path),
            dynamo=False,
            export_params=True,
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: _DYNAMIC_AXES, OUTPUT_NAME: _DYNAMIC_AXES},
        )
        onnx.checker.check_model(str(partial_path))
    logger.info("wrote MODNet ONNX model %s", output_path)
    return output_path


def convert_checkpoint_to_onnx(
    checkpoint_path: str | os.PathLike[str], output_path: str | os.PathLike[str]
) -> Path:
    """Load a MODNet checkpoint safely (weights only) and export it to ``output_path``."""
    model = load_modnet_checkpoint(checkpoint_path)
    return export_onnx(model, output_path)


def export_random_onnx(output_path: str | os.PathLike[str], seed: int = 0) -> Path:
    """Export a MODNet with reproducible random weights (for tests and benchmarks)."""
    return export_onnx(build_random_modnet(seed), output_path)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modnet.export",
        description=(
            "Export MODNet portrait matting to ONNX (opset 17; dynamic batch, height and width; "
            "input 'input' = RGB scaled to [-1, 1], N x 3 x H x W with H, W multiples of 32; "
            "output 'matte' = N x 1 x H x W in [0, 1]). The checkpoint is loaded with "
            "torch.load(weights_only=True): no Python objects are unpickled. The output file "
            "is written atomically."
        ),
        epilog=(
            "examples:\n"
            "  python -m modnet.export modnet_photographic_portrait_matting.ckpt "
            "modnet_photographic_portrait_matting.onnx\n"
            "  python -m modnet.export --random-weights /tmp/modnet-random.onnx --seed 1"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="CHECKPOINT OUT.onnx, or only OUT.onnx with --random-weights",
    )
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="export a MODNet with random weights instead of converting a checkpoint",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random weights (default: 0)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    expected = 1 if args.random_weights else 2
    if len(args.paths) != expected:
        parser.error(
            "with --random-weights give only OUT.onnx"
            if args.random_weights
            else "give CHECKPOINT and OUT.onnx (or --random-weights OUT.onnx)"
        )
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    output_path = Path(args.paths[-1])
    try:
        if not output_path.parent.is_dir():
            raise ModnetModelError(output_path, "the output folder does not exist")
        if args.random_weights:
            written = export_random_onnx(output_path, seed=args.seed)
        else:
            written = convert_checkpoint_to_onnx(args.paths[0], output_path)
    except (ModnetError, OSError) as exc:
        print(f"modnet.export: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    print(written)
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
