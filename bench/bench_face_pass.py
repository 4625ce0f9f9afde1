"""The face pass's own cost: N faces in one batched img2img pass against N passes of one.

    pip install -c constraints.txt -e ".[bench]"
    python bench/bench_face_pass.py                      # CPU, small scale (a few minutes)
    python bench/bench_face_pass.py --device cuda        # GPU: fp16, 720 px, 40 steps
    python bench/bench_face_pass.py --face-size 720 --steps 2 --faces 1,2 --batched-only \
        --no-warmup --estimate                           # memory at 720 px on the CPU

What runs is what the WebUI runs for one face pass (A1111 v1.10 img2img, docs/design.md
section 4): the VAE encodes the init images one at a time, the sampler evaluates the UNet
int(denoise * steps) + 1 times (Euler, DPM++ 2M: one evaluation per step) on the batch
doubled for the unconditional half of CFG (the WebUI's default "batch cond/uncond"), and
the VAE decodes the latents one at a time. The models have the real SD1.5 (or SDXL)
layout, built from their published configs (written below, nothing is downloaded) with
random weights, so the arithmetic and the activations are the real models'. Left out:
the text encoder (conds are random tensors of the right shape; it runs once per prompt,
not per step), the sampler's own arithmetic (a few tensor additions), and the WebUI's own
cross-attention optimisation (the models use PyTorch's scaled_dot_product_attention).

Every configuration runs in a fresh subprocess, so memory left by one cannot hide in the
next. Peak memory is what the face pass allocates above the loaded weights, per phase:
on a GPU torch.cuda.max_memory_allocated(); on the CPU the high-water mark of the
process's resident memory (/proc/self/status VmHWM, reset through /proc/self/clear_refs
before each phase; glibc's mmap threshold is fixed so freed tensors leave the RSS).

With --estimate (two or more N) it also prints an estimate of how many faces fit on 8, 12
and 24 GB cards, from a straight line through the UNet's peaks (see docs/benchmarks.md,
Face pass).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

MIB = 2**20
GIB = 2**30

# --- the models' layouts (the published diffusers configs of the released checkpoints) ---

SD15_UNET: dict[str, Any] = {
    "act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                         "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-5,
    "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                       "CrossAttnUpBlock2D"],
}
SDXL_UNET: dict[str, Any] = {
    "act_fn": "silu", "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280], "center_input_sample": False,
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-5,
    "norm_num_groups": 32, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
    "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "use_linear_projection": True,
}
# SD1.5's and SDXL's VAEs share this layout (they differ in weights and scaling factor).
SD_VAE: dict[str, Any] = {
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
    "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 512,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}
# A miniature of SD1.5's layout, for tests of this script's building blocks.
TINY_UNET: dict[str, Any] = dict(
    SD15_UNET, block_out_channels=[32, 64], attention_head_dim=4, cross_attention_dim=32,
    down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"], layers_per_block=1,
    norm_num_groups=8, up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"])
TINY_VAE: dict[str, Any] = dict(SD_VAE, block_out_channels=[16, 32], layers_per_block=1,
                                down_block_types=["DownEncoderBlock2D"] * 2, norm_num_groups=8,
                                up_block_types=["UpDecoderBlock2D"] * 2)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    unet: dict[str, Any]
    vae: dict[str, Any]
    scaling_factor: float
    text_tokens: int = 77
    text_embeds: int = 0  # SDXL's pooled text embedding (added conditioning), else 0
    text_encoder_params: int = 0  # not built; counted in the memory estimate

    @property
    def cond_dim(self) -> int:
        return int(self.unet["cross_attention_dim"])

    @property
    def latent_factor(self) -> int:
        """Pixels per latent pixel: 2 ** (number of VAE downsamplings)."""
        return 2 ** (len(self.vae["block_out_channels"]) - 1)


MODELS = {
    # CLIP ViT-L/14's text model: 123,060,480 parameters
    "sd15": ModelSpec("SD1.5", SD15_UNET, SD_VAE, 0.18215, text_encoder_params=123_060_480),
    # CLIP ViT-L/14 + OpenCLIP ViT-bigG/14 text models: 123,060,480 + 694,659,840
    "sdxl": ModelSpec("SDXL", SDXL_UNET, SD_VAE, 0.13025, text_embeds=1280,
                      text_encoder_params=817_720_320),
    "tiny": ModelSpec("tiny", TINY_UNET, TINY_VAE, 0.18215, text_tokens=8),
}


# --- building -------------------------------------------------------------------------

def fill_random_(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights with a sane scale: matrices and kernels ~ N(0, 1/fan_in), norm
    scales 1, biases 0. Values come from one seeded pool, repeated: what they are does
    not change the cost, and filling a billion values one by one takes too long."""
    generator = torch.Generator().manual_seed(seed)
    pool_cpu = torch.randn(2**20 + 7, generator=generator)  # odd length: no aligned repeats
    pools: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.dim() == 1:
                param.fill_(1.0 if name.endswith("weight") else 0.0)
                continue
            key = (param.device, param.dtype)
            pool = pools.setdefault(key, pool_cpu.to(device=param.device, dtype=param.dtype))
            scaled = pool[:param.numel()] * (1.0 / math.sqrt(param[0].numel()))
            flat = param.view(-1)
            for start in range(0, flat.numel(), scaled.numel()):
                chunk = flat[start:start + scaled.numel()]
                chunk.copy_(scaled[:chunk.numel()])


def layout(kind: str, config: dict[str, Any]) -> torch.nn.Module:
    """A diffusers UNet2DConditionModel ("unet") or AutoencoderKL ("vae") from ``config``
    on the meta device: the modules and shapes, no memory."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    cls = UNet2DConditionModel if kind == "unet" else AutoencoderKL
    with torch.device("meta"):
        return cls(**config)


def build_model(kind: str, config: dict[str, Any], device: str, dtype: torch.dtype,
                seed: int = 0) -> torch.nn.Module:
    """The model of ``layout`` with random weights, on ``device`` in ``dtype`` (made on
    the meta device first, so building never holds two copies)."""
    # (torch's own .to: diffusers' warns about fp32 modules of pretrained checkpoints)
    model = torch.nn.Module.to(layout(kind, config), dtype=dtype).to_empty(device=device)
    fill_random_(model, seed)
    return model.eval().requires_grad_(False)


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class FacePassModels:
    spec: ModelSpec
    unet: torch.nn.Module
    vae: torch.nn.Module
    device: str
    dtype: torch.dtype

    @staticmethod
    def build(spec: ModelSpec, device: str, dtype: torch.dtype) -> FacePassModels:
        return FacePassModels(spec, build_model("unet", spec.unet, device, dtype, seed=1),
                              build_model("vae", spec.vae, device, dtype, seed=2),
                              device, dtype)

    def weight_bytes(self) -> int:
        size = torch.finfo(self.dtype).bits // 8
        return (parameter_count(self.unet) + parameter_count(self.vae)) * size


# --- the face pass ----------------------------------------------------------------------

def unet_evaluations(steps: int, denoise: float) -> int:
    """UNet evaluations of one img2img pass in the WebUI with a one-evaluation-per-step
    sampler: it skips to int(min(denoise, 0.999) * steps) steps before the end."""
    return int(min(denoise, 0.999) * steps) + 1


class Meter:
    """Peak memory of a phase, above what was allocated when it began."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.peaks: dict[str, int] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = self._start()
        yield
        self.peaks[name] = max(self.peaks.get(name, 0), self._peak() - start)

    def _start(self) -> int:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return torch.cuda.memory_allocated()
        reset_peak_rss()
        return _proc_status("VmRSS")

    def _peak(self) -> int:
        if self.cuda:
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated()
        return _proc_status("VmHWM")


def _proc_status(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def reset_peak_rss() -> bool:
    """Set this process's resident high-water mark to its current size (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def face_pass(models: FacePassModels, images: torch.Tensor, *, steps: int, denoise: float,
              cfg_scale: float = 7.0, seed: int = 0, meter: Meter | None = None
              ) -> torch.Tensor:
    """One img2img pass over a batch of faces, (N, 3, H, W) in [0, 1] -> the same shape."""
    spec, unet, vae = models.spec, models.unet, models.vae
    device, dtype = models.device, models.dtype
    meter = meter or Meter("cpu" if device == "cpu" else device)
    count = images.shape[0]
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        with meter.phase("vae_encode"):
            latents = torch.cat([
                vae.encode(image[None].to(device, dtype) * 2 - 1).latent_dist.sample()
                for image in images]) * spec.scaling_factor
        cond = torch.randn(2 * count, spec.text_tokens, spec.cond_dim, generator=generator)
        cond = cond.to(device, dtype)  # the prompts' conds, then the negative prompts'
        added = _added_conditioning(spec, 2 * count, images.shape[-2:], device, dtype)
        evaluations = unet_evaluations(steps, denoise)
        sigmas = torch.linspace(14.6 * min(denoise, 0.999), 0.0, evaluations + 1).tolist()
        noise = torch.randn(latents.shape, generator=generator).to(device, dtype)
        x = latents + noise * sigmas[0]
        with meter.phase("unet"):
            for sigma, following in itertools.pairwise(sigmas):
                x = _euler_step(unet, x, sigma, following, cond, added, cfg_scale)
        with meter.phase("vae_decode"):
            decoded = torch.cat([vae.decode(latent[None] / spec.scaling_factor).sample
                                 for latent in x])
    return ((decoded.float() + 1) / 2).clamp(0, 1).cpu()


def _added_conditioning(spec: ModelSpec, batch: int, size: Sequence[int], device: str,
                        dtype: torch.dtype) -> dict[str, torch.Tensor] | None:
    if not spec.text_embeds:
        return None
    height, width = (int(v) for v in size)
    time_ids = torch.tensor([height, width, 0, 0, height, width], dtype=dtype, device=device)
    return {"text_embeds": torch.zeros(batch, spec.text_embeds, device=device, dtype=dtype),
            "time_ids": time_ids.expand(batch, 6)}


def _euler_step(unet: torch.nn.Module, x: torch.Tensor, sigma: float, following: float,
                cond: torch.Tensor, added: dict[str, torch.Tensor] | None,
                cfg_scale: float) -> torch.Tensor:
    """One evaluation of the CFG denoiser (cond and uncond in one batch) and an Euler step."""
    doubled = torch.cat([x, x]) / math.sqrt(sigma**2 + 1)
    timestep = torch.full((doubled.shape[0],), 999.0 * sigma / 14.6, device=x.device)
    kwargs = {"added_cond_kwargs": added} if added is not None else {}
    eps = unet(doubled, timestep, encoder_hidden_states=cond, **kwargs).sample
    eps_cond, eps_uncond = eps.chunk(2)
    eps = eps_uncond + cfg_scale * (eps_cond - eps_uncond)
    return x + eps * (following - sigma)


# --- one configuration (in its own process) ----------------------------------------------

@dataclass
class Configuration:
    model: str
    device: str
    dtype: str
    face_size: int
    steps: int
    denoise: float
    faces: int
    batch: int  # faces per pass: `faces` (one batch) or 1 (passes of one)
    threads: int = 0  # CPU threads; 0: torch's default
    warmup: bool = True


@dataclass
class PassRecord:
    seconds: float
    peaks: dict[str, int]  # bytes above what was allocated when the phase began


@dataclass
class Measurement:
    configuration: Configuration
    passes: list[PassRecord]
    weight_bytes: int
    peak_resettable: bool
    device_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def seconds(self, faces: int) -> float:
        """Time of the passes that processed the first ``faces`` faces."""
        return sum(record.seconds for record in self._covering(faces))

    def peak(self, phases: Sequence[str], faces: int) -> int:
        return max((record.peaks.get(phase, 0) for record in self._covering(faces)
                    for phase in phases), default=0)

    def unet_peak(self, faces: int) -> int:
        return self.peak(["unet"], faces)

    def vae_peak(self, faces: int) -> int:
        return self.peak(["vae_encode", "vae_decode"], faces)

    def _covering(self, faces: int) -> list[PassRecord]:
        return self.passes[:math.ceil(faces / self.configuration.batch)]


def measure(config: Configuration) -> Measurement:
    """Build the models, warm up, then run ``faces`` faces in passes of ``batch``, each
    pass timed and measured on its own."""
    if config.threads:
        torch.set_num_threads(config.threads)
    dtype = getattr(torch, config.dtype)
    models = FacePassModels.build(MODELS[config.model], config.device, dtype)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(config.faces, 3, config.face_size, config.face_size, generator=generator)
    if config.warmup:  # one UNet evaluation at the same shapes: kernels chosen, pools made
        face_pass(models, images[:config.batch], steps=1, denoise=config.denoise)
    records = []
    for start in range(0, config.faces, config.batch):
        meter = Meter(config.device)
        _synchronize(config.device)
        began = time.perf_counter()
        face_pass(models, images[start:start + config.batch], steps=config.steps,
                  denoise=config.denoise, seed=start, meter=meter)
        _synchronize(config.device)
        records.append(PassRecord(time.perf_counter() - began, meter.peaks))
    cuda = config.device.startswith("cuda")
    return Measurement(
        config, records, models.weight_bytes(), peak_resettable=cuda or reset_peak_rss(),
        device_name=torch.cuda.get_device_name() if cuda else platform.machine(),
        extra={"threads": torch.get_num_threads(), "torch": torch.__version__,
               "unet_params": parameter_count(models.unet),
               "vae_params": parameter_count(models.vae)})


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure_in_subprocess(config: Configuration) -> Measurement:
    """measure() in a fresh Python; glibc's mmap threshold fixed, so that freed tensors
    leave the resident memory at once."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps(asdict(config))],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["configuration"] = Configuration(**data["configuration"])
    data["passes"] = [PassRecord(**record) for record in data["passes"]]
    return Measurement(**data)


# --- report ---------------------------------------------------------------------------------

def _mib(value: float) -> str:
    return f"{value / MIB:,.0f}"


@dataclass(frozen=True)
class Row:
    faces: int
    batched: Measurement
    single: Measurement | None  # passes of one (the first `faces` of them), if measured


def table(rows: Sequence[Row]) -> str:
    lines = ["| N faces | one batch of N: s per face | N passes of 1: s per face | speed-up "
             "| one batch of N: peak MiB, UNet / VAE | passes of 1: peak MiB, UNet / VAE |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        n, batched, single = row.faces, row.batched, row.single
        batch_s = batched.seconds(n) / n
        cells = [str(n), f"{batch_s:.2f}"]
        if single is None:
            cells += ["-", "-"]
        else:
            cells += [f"{single.seconds(n) / n:.2f}", f"{single.seconds(n) / n / batch_s:.2f}x"]
        cells.append(f"{_mib(batched.unet_peak(n))} / {_mib(batched.vae_peak(n))}")
        cells.append("-" if single is None
                     else f"{_mib(single.unet_peak(n))} / {_mib(single.vae_peak(n))}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class FitEstimate:
    per_face: float  # bytes the UNet needs per face, in fp16
    unet_fixed: float  # and for any batch
    vae_peak: float
    weights: float  # UNet, VAE and text encoder in fp16
    overhead: float

    def faces_that_fit(self, card_bytes: float) -> int:
        free = card_bytes - self.weights - self.overhead
        if free < self.vae_peak or free < self.unet_fixed + self.per_face:
            return 0
        return int((free - self.unet_fixed) // self.per_face)


def fit_estimate(rows: Sequence[Row], overhead_gib: float) -> FitEstimate:
    """A straight line (least squares) through the UNet peaks of the batched passes;
    measurements in fp32 halved for fp16."""
    faces = [row.faces for row in rows]
    peaks = [float(row.batched.unet_peak(row.faces)) for row in rows]
    mean_x, mean_y = sum(faces) / len(faces), sum(peaks) / len(peaks)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(faces, peaks, strict=True))
             / sum((x - mean_x) ** 2 for x in faces))
    first = rows[0].batched
    scale = 0.5 if first.configuration.dtype == "float32" else 1.0
    spec = MODELS[first.configuration.model]
    weights = 2.0 * (first.extra["unet_params"] + first.extra["vae_params"]
                     + spec.text_encoder_params)
    return FitEstimate(per_face=slope * scale, unet_fixed=max(mean_y - slope * mean_x, 0.0) * scale,
                       vae_peak=max(row.batched.vae_peak(row.faces) for row in rows) * scale,
                       weights=weights, overhead=overhead_gib * GIB)


def estimate_text(estimate: FitEstimate, cards: Sequence[float], measured: Measurement
                  ) -> str:
    config = measured.configuration
    source = ("halved for fp16" if config.dtype == "float32" else "as measured")
    lines = [
        f"Faces that fit in one face pass: an estimate from {config.device} measurements in "
        f"{config.dtype} at {config.face_size} px ({source})"
        + ("." if config.device.startswith("cuda") else ", not a GPU measurement."),
        f"UNet {_mib(estimate.per_face)} MiB per face + {_mib(estimate.unet_fixed)} MiB, VAE "
        f"peak {_mib(estimate.vae_peak)} MiB, weights (UNet + VAE + text encoder, fp16) "
        f"{_mib(estimate.weights)} MiB, other GPU memory (CUDA context, allocator slack, "
        f"WebUI) {_mib(estimate.overhead)} MiB.",
        "",
        "| card | faces in one pass |",
        "| ---: | ---: |",
    ]
    lines += [f"| {gb:g} GB | {estimate.faces_that_fit(gb * 1e9)} |" for gb in cards]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: one configuration
    parser.add_argument("--model", choices=sorted(MODELS), default="sd15")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                        help="default: float16 on cuda, float32 on the CPU")
    parser.add_argument("--face-size", type=int,
                        help="face width and height in px, a multiple of 8 "
                             "(default: FacePop's 720 on cuda, 64 on the CPU)")
    parser.add_argument("--steps", type=int,
                        help="sampling steps (default: FacePop's face steps, 40, on cuda; "
                             "2 on the CPU: one UNet evaluation)")
    parser.add_argument("--denoise", type=float, default=0.4,
                        help="denoising strength (default: FacePop's face denoising, 0.4)")
    parser.add_argument("--faces", default="1,2,4,8", help="the N to try, comma-separated")
    parser.add_argument("--batched-only", action="store_true",
                        help="skip the passes of one (e.g. to measure memory only)")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the warm-up pass (times then include first-call costs)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: on a shared machine more threads "
                             "spin against each other; 0: torch's default)")
    parser.add_argument("--estimate", action="store_true",
                        help="also estimate the faces that fit per card (needs two or more "
                             "N; meaningful at the real face size)")
    parser.add_argument("--card-gb", default="8,12,24",
                        help="card sizes for the estimate of faces that fit (default 8,12,24)")
    parser.add_argument("--overhead-gib", type=float, default=1.0,
                        help="GPU memory taken besides the models and the face pass (CUDA "
                             "context, allocator slack, the WebUI) for the estimate (default 1)")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asdict(measure(Configuration(**json.loads(args.one))))))
        return 0

    cuda = args.device.startswith("cuda")
    dtype = args.dtype or ("float16" if cuda else "float32")
    size = args.face_size or (720 if cuda else 64)
    steps = args.steps or (40 if cuda else 2)
    counts = sorted(int(n) for n in args.faces.split(","))

    def configuration(faces: int, batch: int) -> Configuration:
        return Configuration(args.model, args.device, dtype, size, steps, args.denoise,
                             faces=faces, batch=batch, threads=args.threads,
                             warmup=not args.no_warmup)

    single = None if args.batched_only else measure_in_subprocess(configuration(counts[-1], 1))
    rows = []
    for count in counts:
        batched = single if count == 1 and single else measure_in_subprocess(
            configuration(count, count))
        rows.append(Row(count, batched, single))
        print(f"N={count} done", file=sys.stderr)
    print(header(rows[0].batched))
    print()
    print(table(rows))
    if args.estimate and len(counts) >= 2:
        print()
        estimate = fit_estimate(rows, args.overhead_gib)
        print(estimate_text(estimate, [float(gb) for gb in args.card_gb.split(",")],
                            rows[0].batched))
    return 0


def header(measured: Measurement) -> str:
    config = measured.configuration
    spec = MODELS[config.model]
    resettable = "" if measured.peak_resettable else " (peaks could not be reset: upper bounds)"
    return (f"Face pass of {spec.name} with random weights in the real layout (UNet "
            f"{measured.extra['unet_params']:,} parameters, VAE "
            f"{measured.extra['vae_params']:,}: {_mib(measured.weight_bytes)} MiB) on "
            f"{config.device} ({measured.device_name}, {measured.extra['threads']} "
            f"thread(s), torch {measured.extra['torch']}), {config.dtype}; faces "
            f"{config.face_size}x{config.face_size} px, {config.steps} steps at denoise "
            f"{config.denoise}: {unet_evaluations(config.steps, config.denoise)} UNet "
            "evaluation(s) per pass on the batch doubled for CFG. Peak memory: above the "
            f"weights, per phase{resettable}.")


if __name__ == "__main__":
    raise SystemExit(main())
