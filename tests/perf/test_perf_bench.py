"""tools/bench_step.py and tools/bench_hl_terms.py run end to end and print ratios (no timing asserts)."""
import math
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_tool(script, *args):
    out = subprocess.run([sys.executable, str(ROOT / "tools" / script), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def medians(stdout, label):
    values = [float(v) for v in re.findall(rf"ratio {re.escape(label)}: median ([0-9.]+)", stdout)]
    assert values and all(math.isfinite(v) and v > 0 for v in values), stdout
    return values


def test_bench_step_prints_ratio_and_memory():
    stdout = run_tool("bench_step.py", "--model", "mobilenet", "--image-size", "96", "--rois", "16",
                      "--steps", "2", "--warmup", "1", "--batches", "1", "--threads", "1", "--update-every", "1", "10")
    assert len(medians(stdout, "hl(k=1)/stock")) == 2  # wall and CPU clocks
    assert len(medians(stdout, "hl(k=10)/stock")) == 2
    # HL keeps per-RoI vectors and a copy of the centers for backward (the copy lets a later
    # in-place center update happen before this step's backward: gradient accumulation);
    # its state is the centers, the per-class update counts, two counters and the float64
    # running sum of the centers (d values)
    saved = re.search(r"hl\(k=1\): saved for backward .*\(([+-]\d+) B vs stock\), buffers ([+-]\d+) B", stdout)
    assert saved, stdout
    num_rois, centers = 2 * 16, 20 * 1024 * 4
    assert 0 <= int(saved.group(1)) <= centers + 16 * num_rois
    assert int(saved.group(2)) == centers + 20 * 8 + 2 * 8 + 1024 * 8


def test_bench_hl_terms_prints_ratio():
    stdout = run_tool("bench_hl_terms.py", "--quick", "--threads", "1")
    medians(stdout, "hl/head")
    medians(stdout, "head+hl/head")
