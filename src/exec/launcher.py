"""Process guard, and sandbox, for one execution of agent-written code.

    launcher.py [--guard JSON --] CMD...    the guard: started by the harness in a new session
    launcher.py --inner JSON -- CMD...      inside fresh namespaces (unshare), as their PID 1
    launcher.py --cgroup-probe [PARENT]     JSON: which cgroup limits this host lets us set

The guard leads the execution's process group. If the harness dies, even by SIGKILL, the kernel
sends it SIGTERM (PR_SET_PDEATHSIG) and it kills the group. It is also a child subreaper, so a
process that escaped the group with setsid is reparented to it and killed at the end. Where the
host lets it, it puts the execution in a cgroup child group of its own (memory and process limits,
OOM kills counted) and removes the group at the end; it watches the workspace's size.

JSON: {"wrap": [unshare argv] (optional), "writable": [dirs], "readable": [paths],
       "readable_env": [variable names whose values (paths or globs) the execution may read],
       "network": bool, "limits": {"cpu_s", "memory_mb", "memory_max_mb", "pids_max", "disk_mb"},
       "cgroup_parent": a delegated cgroup v2 dir for the execution's group (optional)}.
With "wrap", the guard starts `wrap + launcher.py --inner JSON -- CMD`; the inner launcher builds a
fresh root holding only what the execution needs (system libraries, its Python, its data read-only,
its workspace writable, GPU device nodes, a private /tmp and /dev/shm), brings up a private
loopback, drops all capabilities of CMD and, being PID 1 of its own PID namespace, takes every
process of the execution with it when it exits.

Lines the guard adds to the log about a limit start with "[speedrunner sandbox] limit: ".
"""
import ctypes
import fcntl
import glob
import json
import os
import platform
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

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
MNT_DETACH = 2
KEEP_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
              "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}

# What an isolated execution sees besides its own paths. Everything else of the host is absent.
SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
ETC_ENTRIES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "nsswitch.conf",
               "protocols", "services", "gai.conf", "os-release", "ssl", "ca-certificates", "pki"]
NETWORK_ETC = ["resolv.conf", "hosts"]
DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]
GPU_DEVICES = ["/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri"]
MAX_FILE_BINDS = 512  # a data glob matching more binds its directory instead of each file

libc = ctypes.CDLL(None, use_errno=True)


def prctl(*args):
    return libc.prctl(*[ctypes.c_ulong(a) for a in args] + [ctypes.c_ulong(0)] * (5 - len(args)))


def die(msg):
    print(f"[speedrunner sandbox] {msg}", file=sys.stderr, flush=True)
    sys.exit(125)


def say(msg):
    print(f"[speedrunner sandbox] {msg}", file=sys.stderr, flush=True)


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    check(libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def bind(src, target, recursive=True):
    """A bind mount with what is mounted below src (a GPU driver under /usr/local, say). For /sys,
    non-recursive where the kernel allows it, so its submounts (cgroupfs, debugfs, bpf) stay hidden."""
    if not recursive:
        try:
            return mount(src, target, None, MS_BIND)
        except OSError:
            pass
    mount(src, target, None, MS_BIND | MS_REC)


def under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def mounts():
    """(mount point, per-mount options) from mountinfo, with its octal escapes undone."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            yield point, fields[5].split(",")


# ---------------------------------------------------------------- the allow-list root

class RootPlan:
    """What the new root holds: binds by real path, and the symlinks on the way to them."""

    def __init__(self):
        self.binds = {}  # real path -> "ro" | "rw" | "dev"
        self.links = {}  # path -> link text

    def real(self, path, depth=0):
        """The real path of `path`, noting each symlink passed so the new root has it too."""
        if depth > 40:
            raise OSError(40, f"too many levels of symbolic links: {path}")
        cur = "/"
        for comp in os.path.abspath(path).split("/"):
            if not comp:
                continue
            nxt = os.path.join(cur, comp)
            if os.path.islink(nxt):
                text = os.readlink(nxt)
                self.links[nxt] = text
                nxt = self.real(os.path.join(cur, text), depth + 1)
            cur = nxt
        return cur

    def expose(self, path, mode):
        if not path or not os.path.lexists(path):
            return
        real = self.real(path)
        if not os.path.exists(real):
            return
        if self.binds.get(real) != "rw":
            self.binds[real] = mode

    def expose_glob(self, pattern):
        if not any(c in pattern for c in "*?["):
            return self.expose(pattern, "ro")
        matches = glob.glob(pattern, recursive=True)
        if len(matches) <= MAX_FILE_BINDS:
            for m in matches:
                self.expose(m, "ro")
            return
        static = []
        for comp in pattern.split("/"):
            if any(c in comp for c in "*?["):
                break
            static.append(comp)
        top = "/".join(static) or "/"
        if top == "/":
            die(f"data glob {pattern} matches {len(matches)} files from /: give it a directory")
        self.expose(top, "ro")

    def mounts_in_order(self):
        """Binds parents first; a read-only path inside another read-only bind is already there."""
        kept = []
        for real in sorted(self.binds):
            mode = self.binds[real]
            if mode == "ro" and any(under(real, [k]) and self.binds[k] == "ro" for k in kept):
                continue
            kept.append(real)
        return [(p, self.binds[p]) for p in kept]


def python_paths():
    """What this interpreter (the task's) needs: its prefixes, its real executable, sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in sys.path if p and os.path.abspath(p) != here]
    return paths


def plan_root(spec):
    plan = RootPlan()
    for d in SYSTEM_DIRS:
        plan.expose(d, "ro")
    for name in ETC_ENTRIES + (NETWORK_ETC if spec.get("network") else []):
        plan.expose(os.path.join("/etc", name), "ro")
    for p in python_paths():
        plan.expose(p, "ro")
    for name in spec.get("readable_env", []):
        if os.environ.get(name):
            plan.expose_glob(os.environ[name])
    for p in spec.get("readable", []):
        plan.expose(p, "ro")
    for d in DEVICES:
        plan.expose(f"/dev/{d}", "dev")
    for pattern in GPU_DEVICES:
        for p in glob.glob(pattern):
            plan.expose(p, "dev")
    for d in spec.get("writable", []):
        if not os.path.isdir(d):
            die(f"writable directory {d} does not exist")
        plan.expose(d, "rw")
    return plan


def pivot_root(new, old):
    nr = SYS_PIVOT_ROOT.get(platform.machine())
    if nr is None:
        raise OSError(38, f"pivot_root: unknown syscall number on {platform.machine()}")
    check(libc.syscall(ctypes.c_long(nr), new.encode(), old.encode()), "pivot_root")


def make_target(path, is_dir):
    if os.path.lexists(path):
        return
    os.makedirs(path if is_dir else os.path.dirname(path), exist_ok=True)
    if not is_dir:
        open(path, "w").close()


def identity_files(spec):
    uid, gid = os.getuid(), os.getgid()
    users = {0: "root", 65534: "nobody"}
    users.setdefault(uid, "sandbox")
    groups = {0: "root", 65534: "nogroup"}
    groups.setdefault(gid, "sandbox")
    files = {
        "/etc/passwd": "".join(f"{n}:x:{u}:{gid if u == uid else u}:{n}:/nonexistent:/usr/sbin/nologin\n" for u, n in users.items()),
        "/etc/group": "".join(f"{n}:x:{g}:\n" for g, n in groups.items()),
        "/etc/hostname": "sandbox\n",
    }
    if not spec.get("network"):
        files["/etc/hosts"] = "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost ip6-loopback\n"
    return files


def build_root(spec):
    """A fresh tmpfs root with the plan's binds, entered with pivot_root; the host root is detached."""
    plan = plan_root(spec)
    binds = plan.mounts_in_order()
    disk_mb = int(spec.get("limits", {}).get("disk_mb") or 0)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # The host's /tmp is the mount point of the new root (as bubblewrap does): after pivot_root the
    # host's /tmp is seen again, whole, under /.oldroot/tmp.
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    os.mkdir("/tmp/.oldroot")
    pivot_root("/tmp", "/tmp/.oldroot")
    os.chdir("/")
    old = "/.oldroot"
    specials = [("/tmp", "tmpfs", f"mode=1777{f',size={disk_mb}m' if disk_mb else ''}"),
                ("/dev", "tmpfs", "mode=755"), ("/dev/shm", "tmpfs", "mode=1777"), ("/proc", "proc", ""), ("/sys", "sys", "")]
    taken = {t for t, _k, _o in specials}
    for target, kind, opts in sorted(specials + [(p, m, "") for p, m in binds if p not in taken]):
        if kind == "tmpfs":
            os.makedirs(target, exist_ok=True)
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | (MS_NOEXEC if target.startswith("/dev") else 0), opts)
        elif kind in ("proc", "sys"):
            os.makedirs(target, exist_ok=True)
            bind(old + target, target, recursive=kind == "proc")
        else:
            make_target(target, os.path.isdir(old + target))
            bind(old + target, target)
    for point in ("/proc/sys", "/proc/sysrq-trigger"):
        if os.path.exists(point):
            bind(point, point, recursive=False)  # made read-only below
    for path, text in sorted(plan.links.items()):
        if not os.path.lexists(path):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.symlink(text, path)
            except OSError:
                pass  # inside a read-only bind: the link is there already
    for path, text in identity_files(spec).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"/dev/{name}")
    check(libc.umount2(old.encode(), MNT_DETACH), f"umount {old}")
    os.rmdir(old)
    keep_rw = [p for p, m in binds if m in ("rw", "dev")] + ["/tmp", "/dev/shm"]
    for point, opts in list(mounts()):
        if point in keep_rw or under(point, [p for p, m in binds if m == "rw"]) or (under(point, ["/proc"]) and point not in ("/proc/sys", "/proc/sysrq-trigger")):
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


def uid_threads(uid):
    """Tasks (threads) this uid runs now: RLIMIT_NPROC counts them all, host-wide."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            pass
    return total


def apply_limits(limits, nproc=None):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("cpu_s"):
        resource.setrlimit(resource.RLIMIT_CPU, (int(limits["cpu_s"]),) * 2)
    if limits.get("memory_mb"):
        resource.setrlimit(resource.RLIMIT_AS, (int(limits["memory_mb"]) << 20,) * 2)
    if limits.get("disk_mb"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(limits["disk_mb"]) << 20,) * 2)
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def exit_like(code):
    sys.exit(code if code >= 0 else 128 - code)


def inner(spec, cmd):
    """PID 1 of the execution's namespaces: when it exits, the kernel kills all that is left."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGTERM, lambda *_: (os.kill(-1, signal.SIGKILL), os._exit(143)))
    cwd = os.path.realpath(os.getcwd())
    try:
        build_root(spec)
        if "--uts" in spec.get("wrap", []):
            name = b"sandbox"
            check(libc.sethostname(name, len(name)), "sethostname")
        if not spec.get("network"):
            loopback_up()
    except OSError as e:
        die(f"setup failed: {e}")
    os.chdir(cwd)

    def prepare():
        apply_limits(spec.get("limits", {}), spec.get("nproc"))
        drop_privileges()

    code = subprocess.Popen(cmd, preexec_fn=prepare).wait()
    exit_like(code)


# ---------------------------------------------------------------- cgroups

def own_cgroups():
    """{controller or "": (mount point, our group's path)} for cgroup v2 ("") and v1 hierarchies."""
    points = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _src, opts = right.split()[:3]
            point = left.split()[4].encode().decode("unicode_escape")
            if fstype == "cgroup2":
                points.setdefault("", point)
            elif fstype == "cgroup":
                for c in opts.split(","):
                    if c in ("memory", "pids"):
                        points.setdefault(c, point)
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _id, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                if c in points:
                    out[c] = (points[c], path)
    return out


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_keyed(path):
    try:
        with open(path) as f:
            return {k: int(v) for k, v in (line.split() for line in f if len(line.split()) == 2 and line.split()[1].isdigit())}
    except OSError:
        return {}


def remove_stale(parent):
    """Empty groups left by a guard that was SIGKILLed; their names carry the guard's pid."""
    for name in os.listdir(parent):
        if name.startswith("speedrunner-") and name[12:].isdigit() and not os.path.exists(f"/proc/{name[12:]}"):
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                pass


class Cgroup:
    """One execution's group: memory.max / memory.limit_in_bytes and pids.max; v2 where it has the
    controllers, else v1 hierarchies. Only the limits the host lets us set are set."""

    def __init__(self, limits, parent=None):
        self.dirs = {}  # "memory" | "pids" -> (version, dir)
        self.limits = limits
        self.reasons = []
        want = [c for c in ("memory", "pids") if limits.get({"memory": "memory_max_mb", "pids": "pids_max"}[c])]
        if not want:
            return
        try:
            # A delegated cgroup v2 group (no processes of its own) given by the operator, else ours.
            found = {"": (parent, "")} if parent else own_cgroups()
        except OSError as e:
            self.reasons.append(f"cannot read /proc/self/cgroup: {e}")
            return
        name = f"speedrunner-{os.getpid()}"
        if "" in found:
            self._make_v2(found[""], name, want)
        for c in want:
            if c not in self.dirs and c in found:
                self._make_v1(c, found[c], name)
        for c in want:
            if c not in self.dirs and not any(c in r for r in self.reasons):
                self.reasons.append(f"no {c} controller (cgroup v2 or v1) here")

    def _make_v2(self, where, name, want):
        point, path = where
        parent = os.path.join(point, path.lstrip("/"))
        try:
            have = open(os.path.join(parent, "cgroup.controllers")).read().split()
            usable = [c for c in want if c in have]
            if not usable:
                return
            enabled = open(os.path.join(parent, "cgroup.subtree_control")).read().split()
            missing = [c for c in usable if c not in enabled]
            if missing:
                write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))
            remove_stale(parent)
            d = os.path.join(parent, name)
            os.mkdir(d)
            for c in usable:
                self.dirs[c] = ("v2", d)
            if "memory" in usable:
                write(os.path.join(d, "memory.max"), str(int(self.limits["memory_max_mb"]) << 20))
                try:
                    write(os.path.join(d, "memory.swap.max"), "0")
                except OSError:
                    pass
                write(os.path.join(d, "memory.oom.group"), "1")  # one OOM ends the whole execution
            if "pids" in usable:
                write(os.path.join(d, "pids.max"), str(int(self.limits["pids_max"])))
        except OSError as e:
            busy = " (the group holds processes itself: give a delegated group, SPEEDRUNNER_SANDBOX_CGROUP)" if e.errno == 16 else ""
            self.reasons.append(f"cgroup v2 {parent}: {e.strerror or e}{busy}")

    def _make_v1(self, ctrl, where, name):
        point, path = where
        parent = os.path.join(point, path.lstrip("/"))
        d = os.path.join(parent, name)
        try:
            remove_stale(parent)
            os.mkdir(d)
            self.dirs[ctrl] = ("v1", d)
            if ctrl == "memory":
                write(os.path.join(d, "memory.limit_in_bytes"), str(int(self.limits["memory_max_mb"]) << 20))
                try:
                    write(os.path.join(d, "memory.memsw.limit_in_bytes"), str(int(self.limits["memory_max_mb"]) << 20))
                except OSError:
                    pass  # no swap accounting: nothing to swap to either way
            else:
                write(os.path.join(d, "pids.max"), str(int(self.limits["pids_max"])))
        except OSError as e:
            self.reasons.append(f"cgroup v1 {ctrl} {parent}: {e.strerror or e}")

    def versions(self):
        return {c: v for c, (v, _d) in self.dirs.items()}

    def join(self):
        """In the child, before exec: it and all it starts are in the group(s). A host that made the
        group but refuses the move runs the execution without those limits, and its log says so."""
        for _v, d in set(self.dirs.values()):
            try:
                write(os.path.join(d, "cgroup.procs"), str(os.getpid()))
            except OSError as e:
                os.write(2, f"[speedrunner sandbox] note: cannot join {d} ({e.strerror}): its limits do not apply\n".encode())

    def report(self):
        """Limit lines for the log: what the kernel refused or killed."""
        lines = []
        if "memory" in self.dirs:
            v, d = self.dirs["memory"]
            events = read_keyed(os.path.join(d, "memory.events" if v == "v2" else "memory.oom_control"))
            if events.get("oom_kill"):
                lines.append(f"memory: out of memory at the {self.limits['memory_max_mb']} MiB limit; "
                             f"{events['oom_kill']} process(es) OOM-killed")
        if "pids" in self.dirs:
            _v, d = self.dirs["pids"]
            refused = read_keyed(os.path.join(d, "pids.events")).get("max", 0)
            if refused:
                lines.append(f"processes: {refused} fork(s) refused at the {self.limits['pids_max']} process limit")
        return lines

    def kill_and_remove(self):
        if "pids" in self.dirs:
            try:
                write(os.path.join(self.dirs["pids"][1], "pids.max"), "0")  # no fork from here on: one kill round is enough
            except OSError:
                pass
        for _v, d in set(self.dirs.values()):
            for _ in range(200):
                try:
                    pids = [int(p) for p in open(os.path.join(d, "cgroup.procs")).read().split()]
                except OSError:
                    break
                if not pids:
                    break
                if os.path.exists(os.path.join(d, "cgroup.kill")):
                    write(os.path.join(d, "cgroup.kill"), "1")
                else:
                    for p in pids:
                        try:
                            os.kill(p, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                time.sleep(0.005)
            for _ in range(200):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)  # the last tasks are still exiting
        self.dirs = {}


def cgroup_probe(parent=None):
    """What a guard here could set: one throwaway group with both limits, then removed."""
    g = Cgroup({"memory_max_mb": 1 << 20, "pids_max": 1 << 20}, parent)
    print(json.dumps({"controllers": g.versions(), "reasons": g.reasons}))
    g.kill_and_remove()


# ---------------------------------------------------------------- the guard

def disk_used(roots):
    """Bytes allocated under roots (each inode once; a sparse file counts what it occupies), and the
    largest file's length."""
    seen, total, largest, stack = set(), 0, 0, list(roots)
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
                        largest = max(largest, st.st_size)
        except OSError:
            pass
    return total, largest


def disk_verdict(roots, disk_mb):
    """The limit line when the workspace is past its cap, or a file stopped at it (RLIMIT_FSIZE)."""
    used, largest = disk_used(roots)
    if largest >= disk_mb << 20:
        return f"limit: disk: a file reached the {disk_mb} MiB limit (RLIMIT_FSIZE)"
    if used > disk_mb << 20:
        return f"limit: disk: the workspace grew to {used >> 20} MiB, past its {disk_mb} MiB limit"
    return None


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
    limits = spec.get("limits", {})
    linux = True
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except (OSError, AttributeError):
        linux = False  # not Linux: the harness still kills the group on timeout and cancellation
    group = Cgroup(limits, spec.get("cgroup_parent")) if linux else None
    done = threading.Event()
    said = []

    def finish():
        # Once: a second SIGTERM (`timeout` signals its whole group too) must not re-enter it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if group:
            for line in group.report():
                say(f"limit: {line}")
            group.kill_and_remove()
        if linux:
            sweep_children()  # whatever the script left running, setsid or not
        for line in said:
            say(line)
        said.clear()

    def kill_all(*_):
        done.set()
        finish()
        os.killpg(os.getpgid(0), signal.SIGKILL)

    signal.signal(signal.SIGTERM, kill_all)
    signal.signal(signal.SIGINT, kill_all)
    if parent and os.getppid() != parent:
        kill_all()  # the harness died before we could arm the death signal
    nproc = None
    if limits.get("pids_max") and not (group and "pids" in group.dirs):
        nproc = uid_threads(os.getuid()) + int(limits["pids_max"])  # per-uid and host-wide: a looser bound
    spec = {**spec, "nproc": nproc}

    def prepare():
        if group:
            group.join()
        if not spec.get("wrap"):
            apply_limits(limits, nproc)

    argv = spec["wrap"] + [sys.executable, os.path.abspath(__file__), "--inner", json.dumps(spec), "--"] + cmd if spec.get("wrap") else cmd
    try:
        child = subprocess.Popen(argv, preexec_fn=prepare)
    except (OSError, subprocess.SubprocessError) as e:  # e.g. the cgroup refused the move
        if group:
            group.kill_and_remove()
        die(f"cannot start the execution: {e}")
    disk_mb = int(limits.get("disk_mb") or 0)
    if disk_mb and spec.get("writable"):

        def watch_disk():
            pause = 0.5
            while not done.wait(pause):
                t0 = time.monotonic()
                verdict = disk_verdict(spec["writable"], disk_mb)
                pause = max(0.5, 10 * (time.monotonic() - t0))  # a workspace of many files: at most ~10% of a core
                if verdict:
                    said.append(f"{verdict}; execution stopped")
                    child.kill()  # not reaped here: the main thread's wait() must see the signal; finish() kills the rest
                    return

        threading.Thread(target=watch_disk, daemon=True).start()
    code = child.wait()
    done.set()
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU) and limits.get("cpu_s"):
        said.append(f"limit: cpu: {limits['cpu_s']} CPU seconds used up")
    if disk_mb and spec.get("writable") and not any(line.startswith("limit: disk") for line in said):
        verdict = disk_verdict(spec["writable"], disk_mb)
        if verdict:
            said.append(verdict)
    finish()
    exit_like(code)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--cgroup-probe"]:
        return cgroup_probe(args[1] if len(args) > 1 else None)
    if args and args[0] in ("--guard", "--inner"):
        if len(args) < 4 or args[2] != "--":
            die(f"usage: launcher.py {args[0]} JSON -- CMD...")
        (inner if args[0] == "--inner" else guard)(json.loads(args[1]), args[3:])
    else:
        guard({}, args)


if __name__ == "__main__":
    main()
