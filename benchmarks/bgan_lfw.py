"""BGAN on palette-quantized LFW (16 colours): train the example, write sample grids, score colour use and SWD.

plugins/gan-bgan/examples/bgan-quantized-lfw.yaml: scikit-image's 200 real 25x25 LFW images resized to
32x32 and quantized to a 16-colour k-means palette (16 grey levels: the images are grey). The run's
samples are exactly palette colours. Written:

* benchmarks/bgan-quantized-lfw.png: 64 BGAN samples (EMA generator, pixels drawn from g(x|z));
* benchmarks/bgan-quantized-lfw-real.png: 64 real quantized images, for comparison;
* a RESULTS.md section: the total-variation distance between the palette histograms of generated and
  real images (0: every colour used as often as in the data), and the sliced Wasserstein distance on
  Laplacian-pyramid patches (gancore's ``swd``), with the values of a second half of the real data.

    python benchmarks/bgan_lfw.py [--steps 3000]
    python benchmarks/bgan_lfw.py --skip-train
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from results import child_env, train_minutes, update_section  # noqa: E402

EXAMPLE = ROOT / "plugins" / "gan-bgan" / "examples" / "bgan-quantized-lfw.yaml"
TITLE = "BGAN: palette-quantized LFW (16 colours)"


def train(work: Path, steps: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gancore.cli", "run", str(EXAMPLE), f"--output={work / 'bgan'}", f"--steps={steps}", "--overwrite", "--set=train.progress=false"]
    with open(work / "bgan.log", "w") as log:
        if subprocess.run(cmd, env=child_env(), stdout=log, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"training failed; see {work / 'bgan.log'}")


def evaluate(work: Path) -> dict:
    import torch

    from gancore.data import TensorData
    from gancore.visual import save_grid
    from scoring import load_run, score_samples, values_of

    torch.set_num_threads(1)
    run = load_run(work / "bgan")
    algorithm, data = run.algorithm, run.data
    real_index, real_x = data.tensors["index"].cpu(), data.tensors["x"].cpu()
    k = algorithm.space.num_colors
    with run.sampling():
        save_grid(algorithm.sample(64, seed=0).cpu(), HERE / "bgan-quantized-lfw.png")
        index = algorithm.sample_indices(len(real_index), seed=1).cpu()
        with_mode = algorithm.config.sample_mode
        # The same latents, every pixel at its most likely colour: no speckle from drawing pixels independently.
        algorithm.config.sample_mode = "most-likely"
        save_grid(algorithm.sample(64, seed=0).cpu(), HERE / "bgan-quantized-lfw-most-likely.png")
        algorithm.config.sample_mode = with_mode
    save_grid(real_x[torch.randperm(len(real_x), generator=torch.Generator().manual_seed(0))[:64]], HERE / "bgan-quantized-lfw-real.png")

    def histogram(ix):
        return torch.bincount(ix.flatten(), minlength=k).float() / ix.numel()

    half = len(real_index) // 2
    perm = torch.randperm(len(real_index), generator=torch.Generator().manual_seed(0))
    a, b = real_index[perm[:half]], real_index[perm[half:]]
    tv = {"generated": 0.5 * float((histogram(index) - histogram(real_index)).abs().sum()),
          "real half vs other half": 0.5 * float((histogram(a) - histogram(b)).abs().sum())}

    # Both against the same real half, with as many samples as it has: SWD depends on the sample count.
    other = TensorData({"x": real_x[perm[half:]]}, "image", data.info)
    half_x = real_x[perm[:half]]
    swd = [{"name": "swd", "num_samples": half}]
    with run.sampling():
        swd_generated = values_of(score_samples(lambda n, s: algorithm.sample(n, seed=s).cpu(), other, swd, algorithm=algorithm), "swd")
    swd_real = values_of(score_samples(lambda n, s: half_x[s - 12345 : s - 12345 + n], other, swd), "swd")
    return {"step": run.step, "minutes": train_minutes(work / "bgan"), "colors": k, "palette": data.info["palette"].flatten().tolist(), "tv": tv,
            "swd": swd_generated, "swd_real": swd_real, "sample_mode": with_mode, "images": len(real_x)}


def report(result: dict) -> str:
    swd_keys = [key for key in result["swd"] if key != "swd_avg"] + (["swd_avg"] if "swd_avg" in result["swd"] else [])
    header = " | ".join(f"`{key}`" for key in swd_keys)
    gen = " | ".join(f"{result['swd'][key]:.1f}" for key in swd_keys)
    real = " | ".join(f"{result['swd_real'][key]:.1f}" for key in swd_keys)
    trained = f"{result['minutes']:.0f} min in the training loop"
    palette = ", ".join(f"{v:.2f}" for v in result["palette"])
    return f"""`plugins/gan-bgan/examples/bgan-quantized-lfw.yaml`: scikit-image's {result['images']} real LFW images (faces and
non-faces), resized from 25x25 to 32x32 and quantized to a {result['colors']}-colour k-means palette (grey levels
{palette}). The generator outputs a softmax over the {result['colors']} colours per pixel, the discriminator sees
one-hot colours; m = 20, weights w̃ − 1/m (`baseline: true`), Adam 1e-3 for G and 1e-4 for D, {result['step']} steps,
EMA samples with pixels drawn from g(x|z). Training time on this machine (shared, one thread): {trained}.
Grids: `benchmarks/bgan-quantized-lfw.png` (BGAN, pixels drawn: each is drawn on its own given z, so uncertain
pixels show as speckle), `benchmarks/bgan-quantized-lfw-most-likely.png` (the same latents, every pixel at its most
likely colour), `benchmarks/bgan-quantized-lfw-real.png` (real quantized images). Every generated pixel is exactly one of the
palette's colours (the plugin's tests check it). With 200 training images this shows that the model works,
not sample quality at scale.
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Command: `python benchmarks/bgan_lfw.py --steps {result['step']}`.

Colour use: total-variation distance between the palette histograms (0 = each colour used as often as in the data):

| compared | TV distance |
| --- | --- |
| BGAN samples ({result['images']}) vs the data | {result['tv']['generated']:.4f} |
| real: one random half of the data vs the other | {result['tv']['real half vs other half']:.4f} |

Sliced Wasserstein distance ×1e3 on Laplacian-pyramid 7x7 patches (gancore's `swd`; lower is better):

| compared | {header} |
| --- | {' | '.join('---' for _ in swd_keys)} |
| BGAN samples ({result['images'] // 2}) vs half of the data | {gen} |
| real: the other half of the data vs that half | {real} |"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--work", type=Path, default=HERE / "_work" / "bgan-lfw")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    if not args.skip_train:
        train(args.work, args.steps)
    result = evaluate(args.work)
    body = report(result)
    print(body)
    update_section(TITLE, body)


if __name__ == "__main__":
    main()
