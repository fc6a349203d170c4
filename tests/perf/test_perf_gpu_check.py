"""tools/gpu_check.sh --dry-run: the GPU script's every step runs at toy sizes on the CPU and
writes its summary, so whoever first has a GPU spends the minutes measuring, not debugging."""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_writes_a_green_summary(tmp_path):
    out = tmp_path / "gpu"
    done = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), str(out), "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] and summary["all_ok"], json.dumps(summary, indent=1)
    assert [s["step"] for s in summary["steps"]] == ["env", "cuda_tests", "bench_c20", "bench_c200", "demo_amp"]
    bench = next(s for s in summary["steps"] if s["step"] == "bench_c20")
    assert any("ratio hl(k=10)/stock" in line for line in bench["key_lines"])
    assert "| demo_amp | 0 |" in (out / "summary.md").read_text()
