#!/usr/bin/env bash
# The sandbox on a GPU host, by hand: what the host gives (namespaces, cgroups), CUDA and an NCCL
# all-reduce through torchrun inside the allow-list root, and the per-execution overhead of the
# sandbox against none (median of N trivial executions). Usage: bash bench/sandbox-gpu-check.sh [python]
set -u
PY=${1:-python3}
case $PY in /*) ;; */*) PY=$(pwd)/$PY ;; *) PY=$(command -v "$PY") ;; esac
N=${N:-15}
L=$(pwd)/src/exec/launcher.py
W=$(mktemp -d /tmp/sr-gpu-check-XXXX)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
echo "== host: $(uname -r); $(id -un); python $($PY -c 'import sys; print(sys.version.split()[0], sys.prefix, sys.base_prefix)')"
echo "== cgroups:"; cat /proc/self/cgroup; $PY "$L" --cgroup-probe
UNSHARE=$(command -v unshare)
WRAP="[\"$UNSHARE\",\"--mount\",\"--pid\",\"--fork\",\"--kill-child=SIGKILL\",\"--mount-proc\",\"--ipc\",\"--uts\",\"--cgroup\",\"--net\"]"
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 3 / 4 / 1024 ))
SPEC="{\"wrap\":$WRAP,\"writable\":[\"$W\"],\"readable_env\":[\"NANOGPT_TRAIN_FILES\"],\"network\":false,\"limits\":{\"memory_max_mb\":$MEM,\"pids_max\":8192,\"disk_mb\":20480}}"
OFF="{\"writable\":[\"$W\"],\"network\":false,\"limits\":{}}"
cat > "$W/t.py" <<'PYEOF'
import os, socket, torch, torch.distributed as dist
dist.init_process_group("nccl")
r = dist.get_rank(); torch.cuda.set_device(r)
x = torch.ones(1 << 20, device="cuda") * (r + 1); dist.all_reduce(x)
a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16); s = (a @ a).float().abs().sum().item()
seen = {p: os.path.exists(p) for p in ["/etc/shadow", "/root/.bashrc", "/home", os.path.expanduser("~root")]}
print(f"rank {r}: pid {os.getpid()} host {socket.gethostname()} allreduce {x[0].item()} matmul ok {s > 0} dev {torch.cuda.get_device_name()} seen {seen} devs {sorted(os.listdir('/dev'))}")
dist.destroy_process_group()
PYEOF
echo 'print(1)' > "$W/p.py"
cd "$W"
echo "== torchrun inside the sandbox"
timeout 300 $PY "$L" --guard "$SPEC" -- $PY -m torch.distributed.run --standalone --nproc_per_node=1 t.py 2>&1 | grep -v "^\s*$" | tail -n 40; echo "rc=${PIPESTATUS[0]}"
echo "== memory hog and fork bomb under the guard's cgroup (a delegated v2 group where ours holds processes)"
P=""
if [ "$($PY "$L" --cgroup-probe | grep -c '"memory"')" = 0 ] && grep -q '^0::' /proc/self/cgroup; then
  P=/sys/fs/cgroup$(dirname "$(awk -F: '$1=="0" {print $3}' /proc/self/cgroup)")/speedrunner-executions
  mkdir -p "$P" && for c in memory pids; do echo "+$c" > "$P/cgroup.subtree_control"; done; echo "delegated $P: $(cat "$P/cgroup.subtree_control")"; $PY "$L" --cgroup-probe "$P"
fi
CGP=${P:+,\"cgroup_parent\":\"$P\"}
echo 'chunks = []
for i in range(256): chunks.append(bytearray(b"x") * (16 << 20))
print("allocated 4 GiB")' > hog.py
printf 'import os, time\nwhile True:\n    try: os.fork()\n    except OSError: time.sleep(0.05)\n' > bomb.py
$PY "$L" --guard "{\"wrap\":$WRAP,\"writable\":[\"$W\"],\"network\":false,\"limits\":{\"memory_max_mb\":256}$CGP}" -- $PY hog.py 2>&1 | tail -n 2; echo "hog rc=${PIPESTATUS[0]}"
timeout 3 $PY "$L" --guard "{\"wrap\":$WRAP,\"writable\":[\"$W\"],\"network\":false,\"limits\":{\"pids_max\":64}$CGP}" -- $PY bomb.py 2>&1 | tail -n 2; echo "bomb rc=${PIPESTATUS[0]}"
[ -n "$P" ] && rmdir "$P"
echo "== overhead, $N trivial executions each, alternated (ms)"
$PY - "$PY" "$L" "$SPEC" "$OFF" "$N" <<'PYEOF'
import subprocess, sys, time, statistics, json
py, launcher, spec, off, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
t = {"sandbox": [], "off": []}
for _ in range(n):
    for name, s in (("sandbox", spec), ("off", off)):
        t0 = time.perf_counter(); subprocess.run([py, launcher, "--guard", s, "--", py, "p.py"], check=True, capture_output=True); t[name].append((time.perf_counter() - t0) * 1000)
print(json.dumps({k: {"median_ms": round(statistics.median(v), 1), "min_ms": round(min(v), 1), "max_ms": round(max(v), 1)} for k, v in t.items()}))
PYEOF
rm -rf "$W"
