"""tools/bench_eval.py --quick runs and prints the COCOeval / ours ratio (no timing asserts)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_eval_quick_prints_ratio():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_eval.py"), "--quick"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "ratio COCOeval / ours" in out.stdout
