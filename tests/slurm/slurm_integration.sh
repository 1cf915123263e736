#!/usr/bin/env bash
# Integration test: a single-node Slurm cluster on localhost (munge, slurmctld, slurmd from
# Debian's packages) runs the job array `paradnn slurm` writes, then its dependent merge;
# the merged CSV must hold exactly the points of a single-process run. Needs root.
# Usage: slurm_integration.sh PARADNN_BINARY. Stops the daemons it started, by their pids.
set -euo pipefail
bin=$(readlink -f "$1")
if [ "$(id -u)" -ne 0 ] || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "SKIP: needs root and Debian's slurmctld, slurmd and munge (.ci/install-test-deps installs them)"
  exit 77
fi
work=$(mktemp -d /tmp/paradnn-slurm.XXXXXX)
chmod 755 "$work"
stop() {
  for p in "$work"/slurmd.pid "$work"/slurmctld.pid "$work"/munged.pid; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap stop EXIT

# munge: a fresh key and a private socket, run as the munge user.
dd if=/dev/urandom bs=1 count=1024 of="$work/munge.key" status=none
chown munge:munge "$work/munge.key" && chmod 400 "$work/munge.key"
mkdir -p "$work/munge" && chown munge:munge "$work/munge"
runuser -u munge -- munged --key-file="$work/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed"
cp "$work/munge/munged.pid" "$work/munged.pid"

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=paradnn-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -i -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %t | grep -q idle || { echo "FAIL: the node did not come up"; cat "$work"/slurm*.log; exit 1; }

cat > "$work/sweep.yaml" <<YAML
name: sweep
run: {warmup_s: 0, repetitions: 2, min_time_s: 0.001}
modes: [train, infer]
family: fc
axes: {nodes: [8, 16, 32], batch: [4, 8]}
fixed: {layers: 1, input: 16, output: 4}
YAML
"$bin" slurm "$work/sweep.yaml" --shards 3 --cpus 1 --results "$work/results" --paradnn "$bin" \
  --run-args "--no-ceilings" -d "$work/jobs"
bash "$work/jobs/sweep-submit.sh"
for _ in $(seq 180); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
[ -s "$work/results/sweep.csv" ] || { echo "FAIL: no merged CSV"; cat "$work"/results/*.log "$work"/slurm*.log || true; exit 1; }

"$bin" run "$work/sweep.yaml" -q --no-ceilings -o "$work/single.csv"
keys() { /usr/bin/python3 -c 'import csv,sys; print("\n".join(sorted(r["point_key"] for r in csv.DictReader(open(sys.argv[1])))))' "$1"; }
if [ "$(keys "$work/results/sweep.csv")" != "$(keys "$work/single.csv")" ]; then
  echo "FAIL: merged points differ from a single-process run"; diff <(keys "$work/results/sweep.csv") <(keys "$work/single.csv"); exit 1
fi
echo "PASS: $(keys "$work/single.csv" | wc -l) points from 3 Slurm array tasks merged equal a single-process run"
