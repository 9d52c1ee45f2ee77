"""Wall time of whole `gaform run` processes (parse, check, store, checkpoints, results,
charts): issue 15's "the whole gaform run of the speed job" beside DEAP's run of the same
budget (`deap_sma.py`). Not part of the build or the tests.

    python3 benches/peers/time_gaform_run.py target/release/gaform benches/peers/speed.gaf [runs] [threads]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    exe, gaf = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 21
    env = dict(os.environ)
    if len(sys.argv) > 4:
        env["RAYON_NUM_THREADS"] = sys.argv[4]
    times = []
    for _ in range(runs):
        out = tempfile.mkdtemp(prefix="gaform-speed-")
        started = time.perf_counter()
        subprocess.run([exe, "run", gaf, "--out", out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
        shutil.rmtree(out)
    times.sort()
    print(f"{exe}: median {times[len(times) // 2] * 1e3:.1f} ms, best {times[0] * 1e3:.1f} ms "
          f"over {runs} runs (threads: {env.get('RAYON_NUM_THREADS', 'all')})")


if __name__ == "__main__":
    main()
