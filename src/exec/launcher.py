"""Process-group guard for one execution.

The harness starts this in a new session (it leads its own process group), then this runs the real
command in the same group. If the harness dies, even by SIGKILL, the kernel sends us SIGTERM
(PR_SET_PDEATHSIG) and we kill the whole group, so no training process outlives its worker.
"""
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def kill_group(*_):
    os.killpg(os.getpgid(0), signal.SIGKILL)


def main():
    parent = int(os.environ.pop("SPEEDRUNNER_PARENT_PID", "0"))
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the harness still kills the group on timeout and cancellation
    signal.signal(signal.SIGTERM, kill_group)
    signal.signal(signal.SIGINT, kill_group)
    if parent and os.getppid() != parent:
        kill_group()  # the harness died before we could arm the death signal
    child = subprocess.Popen(sys.argv[1:])
    code = child.wait()
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
