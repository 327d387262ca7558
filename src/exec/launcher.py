"""Process guard, and sandbox, for one execution of agent-written code.

    launcher.py [--guard JSON --] CMD...    the guard: started by the harness in a new session
    launcher.py --inner JSON -- CMD...      inside fresh namespaces (unshare), as their PID 1

The guard leads the execution's process group. If the harness dies, even by SIGKILL, the kernel
sends it SIGTERM (PR_SET_PDEATHSIG) and it kills the group. It is also a child subreaper, so a
process that escaped the group with setsid is reparented to it and killed at the end.

JSON: {"wrap": [unshare argv] (optional), "writable": [dirs], "network": bool,
       "limits": {"cpu_s": n, "memory_mb": n}}. With "wrap", the guard starts `wrap + launcher.py
--inner JSON -- CMD`; the inner launcher makes every mount read-only except the writable dirs,
brings up a private loopback, drops all capabilities of CMD and, being PID 1 of its own PID
namespace, takes every process of the execution with it when it exits.
"""
import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECBITS_LOCKED_NOROOT = 0x2F  # NOROOT, NO_SETUID_FIXUP and their locks, KEEP_CAPS_LOCKED
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
KEEP_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
              "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}

libc = ctypes.CDLL(None, use_errno=True)


def prctl(*args):
    return libc.prctl(*[ctypes.c_ulong(a) for a in args] + [ctypes.c_ulong(0)] * (5 - len(args)))


def die(msg):
    print(f"[speedrunner sandbox] {msg}", file=sys.stderr, flush=True)
    sys.exit(125)


def mount(src, target, fstype, flags):
    enc = lambda s: s.encode() if s is not None else None
    if libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), None) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")


def under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def mounts():
    """(mount point, per-mount options) from mountinfo, with its octal escapes undone."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            yield point, fields[5].split(",")


def read_only_except(writable):
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for d in writable:
        mount(d, d, None, MS_BIND | MS_REC)  # its own mount, left writable below
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV)  # private shared memory
    for path in ("/proc/sys", "/proc/sysrq-trigger"):
        if os.path.exists(path):
            mount(path, path, None, MS_BIND)
    for point, opts in list(mounts()):
        if under(point, writable) or point == "/dev/shm" or (under(point, ["/proc"]) and point not in ("/proc/sys", "/proc/sysrq-trigger")):
            continue
        keep = sum(flag for name, flag in KEEP_FLAGS.items() if name in opts)
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)
        except OSError as e:
            if not under(point, ["/proc", "/sys", "/dev"]):
                die(f"cannot make {point} read-only: {e}")


def loopback_up():
    """A new network namespace has only `lo`, down; torchrun's rendezvous needs it up."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def drop_privileges():
    """In the child before exec: no capability now or after exec, so no remount, no new netns."""
    prctl(PR_SET_SECUREBITS, SECBITS_LOCKED_NOROOT)
    for cap in range(64):
        prctl(PR_CAPBSET_DROP, cap)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def apply_limits(limits):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("cpu_s"):
        resource.setrlimit(resource.RLIMIT_CPU, (int(limits["cpu_s"]),) * 2)
    if limits.get("memory_mb"):
        resource.setrlimit(resource.RLIMIT_AS, (int(limits["memory_mb"]) << 20,) * 2)


def exit_like(code):
    sys.exit(code if code >= 0 else 128 - code)


def inner(spec, cmd):
    """PID 1 of the execution's namespaces: when it exits, the kernel kills all that is left."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGTERM, lambda *_: (os.kill(-1, signal.SIGKILL), os._exit(143)))
    try:
        read_only_except([os.path.realpath(d) for d in spec.get("writable", [])])
        if not spec.get("network"):
            loopback_up()
    except OSError as e:
        die(f"setup failed: {e}")
    os.chdir(os.getcwd())  # resolve the cwd again, now through its writable bind mount

    def prepare():
        apply_limits(spec.get("limits", {}))
        drop_privileges()

    code = subprocess.Popen(cmd, preexec_fn=prepare).wait()
    exit_like(code)


def sweep_children():
    """SIGKILL our children until none is left; orphans of theirs come to us (subreaper) in turn."""
    me = str(os.getpid())
    for _ in range(100):
        kids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        kids.append(int(pid))
            except (OSError, IndexError):
                pass
        if not kids:
            return
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def guard(spec, cmd):
    parent = int(os.environ.pop("SPEEDRUNNER_PARENT_PID", "0"))
    linux = True
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except (OSError, AttributeError):
        linux = False  # not Linux: the harness still kills the group on timeout and cancellation

    def kill_all(*_):
        if linux:
            sweep_children()
        os.killpg(os.getpgid(0), signal.SIGKILL)

    signal.signal(signal.SIGTERM, kill_all)
    signal.signal(signal.SIGINT, kill_all)
    if parent and os.getppid() != parent:
        kill_all()  # the harness died before we could arm the death signal
    if spec.get("wrap"):
        child = subprocess.Popen(spec["wrap"] + [sys.executable, os.path.abspath(__file__), "--inner", json.dumps(spec), "--"] + cmd)
    else:
        child = subprocess.Popen(cmd, preexec_fn=lambda: apply_limits(spec.get("limits", {})))
    code = child.wait()
    if linux:
        sweep_children()  # whatever the script left running, setsid or not
    exit_like(code)


def main():
    args = sys.argv[1:]
    if args and args[0] in ("--guard", "--inner"):
        if len(args) < 4 or args[2] != "--":
            die(f"usage: launcher.py {args[0]} JSON -- CMD...")
        (inner if args[0] == "--inner" else guard)(json.loads(args[1]), args[3:])
    else:
        guard({}, args)


if __name__ == "__main__":
    main()
