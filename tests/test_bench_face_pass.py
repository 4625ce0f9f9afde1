"""The building blocks of bench/bench_face_pass.py, on a tiny model: the layouts are the
released models', the face pass does what the WebUI's does, the memory meter and the
subprocess measurement work, the estimate's arithmetic. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_face_pass.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_face_pass", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.parametrize(("model", "kind", "parameters"), [
    ("sd15", "unet", 859_520_964),  # the released SD1.5 UNet
    ("sdxl", "unet", 2_567_463_684),  # the released SDXL base UNet
    ("sd15", "vae", 83_653_863),  # the SD VAE (SD1.5's and SDXL's)
])
def test_layouts_are_the_released_models(bench, model, kind, parameters) -> None:
    spec = bench.MODELS[model]
    network = bench.layout(kind, spec.unet if kind == "unet" else spec.vae)
    assert bench.parameter_count(network) == parameters


def test_unet_evaluations_follow_the_webui_img2img_schedule(bench) -> None:
    assert bench.unet_evaluations(40, 0.4) == 17  # FacePop's face pass defaults
    assert bench.unet_evaluations(20, 1.0) == 20  # denoise 1 is capped at 0.999
    assert bench.unet_evaluations(2, 0.4) == 1


@pytest.fixture
def one_thread():
    """One CPU thread: on a busy 2-core machine, two spin against each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_face_pass_encodes_samples_and_decodes_each_face(bench, monkeypatch, one_thread
                                                         ) -> None:
    models = bench.FacePassModels.build(bench.MODELS["tiny"], "cpu", torch.float32)
    assert all(torch.isfinite(p).all() for p in models.unet.parameters())
    calls = {"encode": [], "unet": [], "decode": []}
    for name, module, method in (("encode", models.vae, "encode"),
                                 ("decode", models.vae, "decode"),
                                 ("unet", models.unet, "forward")):
        original = getattr(module, method)

        def record(x, *args, _name=name, _original=original, **kwargs):
            calls[_name].append(tuple(x.shape))
            return _original(x, *args, **kwargs)

        monkeypatch.setattr(module, method, record)
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    meter = bench.Meter("cpu")
    out = bench.face_pass(models, images, steps=5, denoise=0.4, meter=meter)

    assert out.shape == images.shape and torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    # The VAE works one image at a time; the UNet sees the batch doubled for CFG, once per
    # evaluation of the schedule.
    assert calls["encode"] == [(1, 3, 32, 32)] * 3
    latent = 32 // models.spec.latent_factor
    assert calls["unet"] == [(6, 4, latent, latent)] * bench.unet_evaluations(5, 0.4)
    assert calls["decode"] == [(1, 4, latent, latent)] * 3
    assert set(meter.peaks) == {"vae_encode", "unet", "vae_decode"}


METER_PROBE = """
import importlib.util, json, sys, torch
spec = importlib.util.spec_from_file_location("bench_face_pass", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench
spec.loader.exec_module(bench)
meter = bench.Meter("cpu")
with meter.phase("big"):
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    del block
with meter.phase("small"):
    pass
print(json.dumps(meter.peaks))
"""


def test_meter_sees_what_a_phase_allocates() -> None:
    # In a process of its own: threads left by other tests would add to the resident size.
    probe = subprocess.run([sys.executable, "-c", METER_PROBE, str(BENCH)],
                           capture_output=True, text=True, timeout=120, check=True)
    peaks = json.loads(probe.stdout.strip().splitlines()[-1])
    assert peaks["big"] >= 60 * 2**20
    assert peaks["small"] < 16 * 2**20  # the high-water mark was reset in between


def test_measure_in_a_subprocess(bench) -> None:
    config = bench.Configuration("tiny", "cpu", "float32", face_size=32, steps=2,
                                 denoise=0.4, faces=2, batch=1, threads=1, warmup=False)
    measured = bench.measure_in_subprocess(config)
    assert measured.configuration == config and len(measured.passes) == 2
    assert measured.seconds(2) > measured.seconds(1) > 0
    assert measured.unet_peak(2) > 0 and measured.vae_peak(2) > 0
    tiny = bench.MODELS["tiny"]
    assert measured.extra["unet_params"] == bench.parameter_count(
        bench.layout("unet", tiny.unet))


def test_fit_estimate_from_a_straight_line(bench) -> None:
    mib = 2**20

    def batched(faces: int, unet: int, vae: int) -> object:
        config = bench.Configuration("sd15", "cpu", "float32", 720, 2, 0.4, faces, faces)
        record = bench.PassRecord(1.0, {"unet": unet * mib, "vae_decode": vae * mib})
        return bench.Measurement(config, [record], 0, True, extra={
            "unet_params": 859_520_964, "vae_params": 83_653_863})

    rows = [bench.Row(n, batched(n, 400 + 1000 * n, 3000), None) for n in (1, 2, 4)]
    estimate = bench.fit_estimate(rows, overhead_gib=1.0)
    # fp32 measurements halved: 500 MiB per face, 200 MiB fixed, VAE 1500 MiB.
    assert estimate.per_face == pytest.approx(500 * mib)
    assert estimate.unet_fixed == pytest.approx(200 * mib)
    assert estimate.vae_peak == pytest.approx(1500 * mib)
    weights = 2 * (859_520_964 + 83_653_863 + 123_060_480)
    assert estimate.weights == weights
    free = 8e9 - weights - 2**30
    assert estimate.faces_that_fit(8e9) == int((free - 200 * mib) // (500 * mib))
    assert estimate.faces_that_fit(weights + 2**30 + 100 * mib) == 0  # not even the VAE
