"""CPU seconds per kind of process while a command runs: where a test suite's CPU goes.

    python3 benches/cpu_by_process.py -- target/debug/deps/it-HASH [libtest args]

Samples /proc every 0.3 s (Linux) and keeps each process's last CPU time; a process that
ends between two looks loses at most 0.3 s. Kinds: moto's server, a gaform subcommand,
a python script, or the program's name. BENCHMARKS.md, "CI time", was measured with it.
"""
import collections
import os
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def kind(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = [c.decode(errors="replace") for c in f.read().split(b"\0") if c]
    except OSError:
        return None
    if not cmd:
        return None
    exe = os.path.basename(cmd[0])
    if any(c.endswith("moto_server") or "DomainDispatcherApplication" in c for c in cmd):
        return "moto"
    if any(c.lstrip().startswith("import boto3") for c in cmd):
        return "the tests' boto3 client"
    if any("runpy.run_path" in c for c in cmd):
        return "backtesting.py scripts"
    if "python" in exe:
        return "python " + " ".join(cmd[1:3])[:40]
    if exe == "gaform":
        return "gaform " + (cmd[1] if len(cmd) > 1 else "")
    return exe[:30]


def stat(pid):
    """CPU seconds, start time (its identity with the pid) and parent of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ, fields[19], fields[1]


def main():
    command = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    started = time.time()
    child = subprocess.Popen(command)
    # The command's process tree only: other work on the machine is not counted.
    ours = {str(child.pid)}
    seen = {}
    while child.poll() is None:
        for pid in sorted(os.listdir("/proc"), key=lambda p: int(p) if p.isdigit() else 0):
            if not pid.isdigit():
                continue
            try:
                cpu, start, parent = stat(pid)
            except (OSError, IndexError, ValueError):
                continue
            if parent in ours:
                ours.add(pid)
            if pid not in ours:
                continue
            # Looked at again until it has exec'd: a fork first shows its parent's name.
            name = kind(pid) or seen.get((pid, start), (None,))[0]
            if name:
                seen[(pid, start)] = (name, cpu)
        time.sleep(0.3)
    totals = collections.Counter()
    for name, cpu in seen.values():
        totals[name] += cpu
    print(f"{time.time() - started:.1f} s wall, exit {child.returncode}; CPU seconds by process:")
    for name, cpu in totals.most_common(20):
        print(f"{cpu:8.1f}  {name}")
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
