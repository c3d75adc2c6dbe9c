"""A throw-away one-node SLURM cluster on this machine, for the tests and the benchmark (Debian's SLURM).

    python3 tools/slurm_cluster.py start DIR    # prints `export SLURM_CONF=DIR/slurm.conf`
    python3 tools/slurm_cluster.py stop DIR
    python3 tools/slurm_cluster.py missing      # the programs this machine lacks (nothing: all there)

Needs Debian's packages: ``apt-get install --no-install-recommends slurmctld slurmd slurm-client munge``
(bookworm's SLURM 22.05). Everything lives in DIR: a fresh munge key and munged on its own socket, slurmctld and
slurmd on private ports, state, spool, logs. No systemd, cgroups or accounting database: process tracking by
/proc (``proctrack/linuxproc``), tasks pinned to their CPUs by ``task/affinity`` (sched_setaffinity, no cgroups),
no accounting (so ``sacct`` does not answer; ``scontrol show job`` does for ``MinJobAge`` seconds).

Why ``task/affinity`` and not ``task/none``: real clusters pin tasks (task/affinity or task/cgroup). Unpinned, two
1-CPU tasks rendering on a 2-core node each kept a TBB worker spinning in sched_yield (6 s of system time per
12 frames) and rendered at 2.4 s/frame instead of 1.2 (measured with Blender 5.0, 160x120 at 48 samples).

``DefMemPerCPU`` lets array tasks share the node (without it every job takes all of the node's memory and the
tasks run one at a time); ``sched_interval=1,bf_interval=1`` removes the
scheduler's 3 s gaps.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
REQUIRED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel")
INSTALL = "apt-get install --no-install-recommends slurmctld slurmd slurm-client munge"


def missing_commands() -> list[str]:
    """The SLURM and munge programs this machine lacks."""
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [name for name in REQUIRED if shutil.which(name, path=search) is None]


def _program(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError(f"{name} is not installed ({INSTALL})")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(folder: Path, cpus: int, memory_mb: int) -> Path:
    """slurm.conf for one node named after this host, with ``cpus`` CPUs."""
    host = socket.gethostname().split(".")[0]
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool", "log"):
        (folder / sub).mkdir(exist_ok=True)
    controller, node = _free_port(), _free_port()
    conf = folder / "slurm.conf"
    conf.write_text(f"""# Written by tools/slurm_cluster.py: a one-node test cluster
ClusterName=truedepth
SlurmctldHost={host}
SlurmctldPort={controller}
SlurmdPort={node}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder / "munge.socket"}
StateSaveLocation={folder / "state"}
SlurmdSpoolDir={folder / "spool"}
SlurmctldPidFile={folder / "slurmctld.pid"}
SlurmdPidFile={folder / "slurmd.pid"}
SlurmctldLogFile={folder / "log" / "slurmctld.log"}
SlurmdLogFile={folder / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU={max(memory_mb // (2 * cpus), 100)}
MinJobAge=600
KillWait=5
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    return conf


def start(folder: Path, cpus: int | None = None, timeout: float = 20.0) -> dict[str, str]:
    """Start munged, slurmctld and slurmd for ``folder``; returns the environment for the clients."""
    folder = folder.resolve()
    cpus = cpus or os.cpu_count() or 1
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20) // 2
    conf = write_config(folder, cpus, memory_mb)
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    environment = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run([_program("munged"), "--force", f"--socket={folder / 'munge.socket'}", f"--key-file={key}",
                    f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'log' / 'munged.log'}",
                    f"--seed-file={folder / 'munge.seed'}"], check=True, env=environment)
    subprocess.run([_program("slurmctld"), "-i"], check=True, env=environment)  # -i: no state from a last run
    subprocess.run([_program("slurmd")], check=True, env=environment)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=environment, capture_output=True, text=True)
        if state.returncode == 0 and state.stdout.strip() == "idle":
            return {"SLURM_CONF": str(conf)}
        time.sleep(0.1)
    stop(folder)
    logs = "".join((folder / "log" / name).read_text()[-2000:] for name in ("slurmctld.log", "slurmd.log")
                   if (folder / "log" / name).exists())
    raise RuntimeError(f"the test cluster in {folder} did not come up in {timeout:.0f} s:\n{logs}")


def stop(folder: Path, timeout: float = 15.0) -> None:
    """Stop the daemons started by :func:`start` for ``folder`` (and wait until they are gone)."""
    folder = folder.resolve()
    pids = []
    for name in reversed(DAEMONS):
        pid_file = folder / f"{name}.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().split()[0])
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except (ValueError, IndexError, ProcessLookupError):
                pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main(argv: list[str]) -> int:
    if argv == ["missing"]:
        print(" ".join(missing_commands()))
        return 0
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    folder = Path(argv[1])
    if argv[0] == "start":
        environment = start(folder)
        print(f"export SLURM_CONF={environment['SLURM_CONF']}")
    else:
        stop(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
