"""The truncation trick on the conditional BigGAN of ``benchmarks/biggan_mnist5k.py``: quality against variety.

For each threshold (0.25, 0.5, 1.0, 1.5 and none) the EMA generator of the benchmark's BigGAN run
samples with every latent value beyond the threshold drawn again (``gan eval --truncation T``), and
is scored on ``lenet-mnist`` features against the 1,000 test digits of mnist5k:

* FID, 5,000 samples;
* precision and recall (Kynkäänniemi et al. 2019, k = 3), 2,000 samples;
* conditional accuracy, 200 samples per class.

``benchmarks/truncation.png``: precision, recall and FID against the threshold, and one row of
samples per threshold (the same latents and classes 0 to 9). The section "Truncation sweep" of
benchmarks/RESULTS.md is written from ``benchmarks/_work/biggan-truncation.json``.

    python benchmarks/truncation.py            # needs benchmarks/_work/biggan-mnist5k/biggan (biggan_mnist5k.py run)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import update_section  # noqa: E402

TITLE = "Truncation sweep (conditional BigGAN, mnist5k)"
RUN = HERE / "_work" / "biggan-mnist5k" / "biggan"
OUT = HERE / "_work" / "biggan-truncation.json"
THRESHOLDS = [0.25, 0.5, 1.0, 1.5, None]
TEST = {"name": "mnist5k", "split": "test"}
METRICS = [
    {"name": "fid", "features": "lenet-mnist", "num_samples": 5000, "reference": TEST},
    {"name": "precision-recall", "features": "lenet-mnist", "num_samples": 2000, "reference": TEST},
    {"name": "conditional-accuracy", "classifier": "lenet-mnist", "num_per_class": 200},
]


def measure() -> dict:
    import torch

    from scoring import load_run, metrics, sample_run, score_run

    run = load_run(RUN)
    built = metrics(METRICS)
    rows, strips = [], []
    for threshold in THRESHOLDS:
        began = time.process_time()
        values = score_run(run, built, truncation=threshold)
        strips.append(sample_run(run, 10, seed=7, labels=torch.arange(10), truncation=threshold))
        rows.append({"truncation": threshold, **values, "cpu_seconds": time.process_time() - began})
        print(json.dumps(rows[-1]), flush=True)
    torch.save(torch.stack(strips), OUT.with_suffix(".pt"))
    result = {"run": str(RUN.relative_to(HERE.parent)), "step": run.step, "rows": rows}
    OUT.write_text(json.dumps(result, indent=1))
    return result


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torchvision.utils import make_grid

    rows = result["rows"]
    labels = [str(r["truncation"]) if r["truncation"] is not None else "none" for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100, gridspec_kw={"width_ratios": [1, 1.15]})
    xs = range(len(rows))
    left.plot(xs, [r["precision-recall/precision"] for r in rows], "o-", label="precision (quality)")
    left.plot(xs, [r["precision-recall/recall"] for r in rows], "s-", label="recall (variety)")
    left.set_xticks(list(xs), labels)
    left.set_xlabel("truncation threshold")
    left.set_ylim(0, 1.02)
    left.legend(loc="lower left", fontsize=8)
    fid_axis = left.twinx()
    fid_axis.plot(xs, [r["fid/fid"] for r in rows], "^--", color="tab:red", label="FID (lenet-mnist)")
    fid_axis.set_ylabel("FID", color="tab:red")
    fid_axis.legend(loc="lower right", fontsize=8)
    left.set_title(f"BigGAN mnist5k, step {result['step']}", fontsize=9)
    strips = torch.load(OUT.with_suffix(".pt"), weights_only=True)  # tensors only: unpickling runs no code
    grid = make_grid(strips.flatten(0, 1).clamp(-1, 1), nrow=10, normalize=True, value_range=(-1, 1), padding=2)
    right.imshow(grid.permute(1, 2, 0).numpy())
    side = strips.shape[-1] + 2
    right.set_yticks([side * (i + 0.5) for i in range(len(rows))], labels)
    right.set_xticks([side * (i + 0.5) for i in range(10)], [str(c) for c in range(10)])
    right.set_ylabel("truncation")
    right.set_xlabel("class (same latents in every row)")
    fig.tight_layout()
    fig.savefig(HERE / "truncation.png")
    plt.close(fig)


def report(result: dict) -> None:
    lines = ["| truncation | FID | precision | recall | density | coverage | conditional accuracy % |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        name = "none" if r["truncation"] is None else f"{r['truncation']:g}"
        lines.append(
            f"| {name} | {r['fid/fid']:.2f} | {r['precision-recall/precision']:.3f} | {r['precision-recall/recall']:.3f} | "
            f"{r['precision-recall/density']:.3f} | {r['precision-recall/coverage']:.3f} | {r['conditional-accuracy/accuracy']:.2f} |"
        )
    none = next(r for r in result["rows"] if r["truncation"] is None)
    first = result["rows"][0]
    best = min((r for r in result["rows"] if r["truncation"] is not None), key=lambda r: r["fid/fid"])
    body = f"""
`python benchmarks/truncation.py` on the EMA generator of `{result['run']}` (step {result['step']}, the run of the section
"Conditional BigGAN on mnist5k"); `gan eval RUN --truncation T` gives the same numbers one threshold at a time. Latent values
beyond T are drawn again. On `lenet-mnist` features against the 1,000 test digits of mnist5k: FID of 5,000 samples; precision,
recall, density and coverage (k = 3 and 5) of 2,000; conditional accuracy of 200 samples per class. `benchmarks/truncation.png`
plots them and shows one row of samples per threshold (same latents, classes 0 to 9).

{chr(10).join(lines)}

Here as in the paper, a smaller threshold trades variety for quality: recall falls from {none['precision-recall/recall']:.3f} without
truncation to {first['precision-recall/recall']:.3f} at {first['truncation']:g}, precision and density rise, and every class becomes
unmistakable to the classifier (conditional accuracy {none['conditional-accuracy/accuracy']:.2f}% -> {first['conditional-accuracy/accuracy']:.2f}%).
FID, which needs both, is best at {best['truncation']:g} ({best['fid/fid']:.1f} against {none['fid/fid']:.1f} without truncation). The BigGAN
paper (ImageNet 128 px, Inception features) reports IS 166.5 and FID 7.4 and shows the same trade-off, IS against FID, in its Figure 2.
"""
    update_section(TITLE, body)
    print(body)


def main() -> None:
    result = json.loads(OUT.read_text()) if "--report" in sys.argv and OUT.exists() else measure()
    plot(result)
    report(result)


if __name__ == "__main__":
    main()
