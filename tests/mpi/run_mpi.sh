#!/bin/sh
# Runs a test program under mpirun with NP ranks on this machine; exit 77 (CTest: skipped)
# where no mpirun is installed. Usage: run_mpi.sh NP PROGRAM [ARGS...]
np=$1
shift
if ! command -v mpirun >/dev/null 2>&1; then
  echo "mpirun not found: skipping (install openmpi-bin)"
  exit 77
fi
# One OpenMP thread per rank: the ranks share this machine's cores.
exec mpirun --allow-run-as-root --oversubscribe -np "$np" -x OMP_NUM_THREADS=1 "$@"
