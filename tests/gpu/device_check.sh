#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine, in one go. Run from the repository root:
#   OUT=/some/folder tests/gpu/device_check.sh
# Builds (Release, -j16; not counted below), then runs each step under a time limit so the
# steps together stay under about 9 minutes on an H200, and copies every output, log and
# result into "$OUT". A failing step is logged (steps.txt: name, exit status, seconds) and the
# next one still runs; the script exits with the number of failed steps.
#   1. ctest -R '[Cc]uda': test_cuda's tests (CudaBackend.*, CudaRoofline.* with the tensor-core
#      probe, CudaReal*) and cuda_nccl_data_parallel_np1/np2 (NCCL data-parallel, 1 and 2 ranks)
#   2. paradnn roofline --backend cuda            -> platform-cuda.yaml (tensor cores, HBM, L2)
#   3. mpirun -np 1 paradnn roofline --allreduce --backend cuda (NCCL busbw, same file)
#   4. paradnn run configs/quick.yaml --backend cuda
#   5. paradnn run configs/real-models.yaml --backend cuda
#   6. paradnn run configs/quick.yaml --backend cpu (the CPU CSV to compare against)
#   7. paradnn compare quick-cpu.csv quick-cuda.csv
set -u
OUT=${OUT:?set OUT to the folder the outputs go to}
mkdir -p "$OUT"
BUILD=${BUILD:-build}
BIN="$BUILD/bin/paradnn"
PLATFORM="$OUT/platform-cuda.yaml"
failed=0
: >"$OUT/steps.txt"

# step NAME LIMIT_S COMMAND...: runs COMMAND under `timeout`, output to $OUT/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  echo "== $name (limit ${limit}s): $*" | tee -a "$OUT/steps.txt"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "   rc=$rc after $((SECONDS - t0))s" | tee -a "$OUT/steps.txt"
  tail -n 15 "$OUT/$name.log"
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  return $rc
}

{ nvidia-smi; nvidia-smi topo -m; } >"$OUT/nvidia-smi.txt" 2>&1
git rev-parse HEAD >"$OUT/commit.txt" 2>/dev/null

# The build (no time limit of the 9 minutes; cmake picks sm_90 SASS + sm_80 PTX).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$OUT/cmake-configure.log" 2>&1 &&
  cmake --build "$BUILD" -j16 >"$OUT/cmake-build.log" 2>&1
rc=$?
tail -n 30 "$OUT/cmake-build.log"
grep -E "CUDA backend|CUDA data-parallel|MPI:" "$OUT/cmake-configure.log"
if [ $rc -ne 0 ]; then
  echo "build failed (rc=$rc): see $OUT/cmake-build.log"
  exit 100
fi

# `-R cuda` alone matches only the NCCL tests: gtest's discovered names start with "Cuda".
step ctest-cuda 180 ctest --test-dir "$BUILD" -R '[Cc]uda' --output-on-failure --timeout 120
cp -r "$BUILD/Testing/Temporary" "$OUT/ctest-temporary" 2>/dev/null

step roofline-cuda 60 "$BIN" roofline --backend cuda -o "$PLATFORM"
# One rank per GPU of this machine (a singleton MPI process where mpirun is absent).
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
[ "${gpus:-0}" -ge 1 ] || gpus=1
launch=()
command -v mpirun >/dev/null && launch=(mpirun --allow-run-as-root --oversubscribe -np "$gpus")
step roofline-allreduce-cuda 30 "${launch[@]}" "$BIN" roofline --allreduce --backend cuda -o "$PLATFORM"
# With ceilings from step 2 where it wrote them; else rows without peak and utilization.
ceilings=(--platform "$PLATFORM")
[ -f "$PLATFORM" ] || ceilings=(--no-ceilings)

step run-quick-cuda 70 "$BIN" run configs/quick.yaml --backend cuda "${ceilings[@]}" -o "$OUT/quick-cuda.csv" --force -q
step run-real-models-cuda 110 "$BIN" run configs/real-models.yaml --backend cuda "${ceilings[@]}" -o "$OUT/real-models-cuda.csv" --force -q
step run-quick-cpu 60 "$BIN" run configs/quick.yaml --backend cpu --no-ceilings -o "$OUT/quick-cpu.csv" --force -q
if [ -f "$OUT/quick-cpu.csv" ] && [ -f "$OUT/quick-cuda.csv" ]; then
  step compare 20 "$BIN" compare "$OUT/quick-cpu.csv" "$OUT/quick-cuda.csv" --ignore-settings -o "$OUT/compare-quick.csv" --force
else
  echo "== compare: skipped (a quick CSV is missing)" | tee -a "$OUT/steps.txt"
  failed=$((failed + 1))
fi

cp -r results "$OUT/results-folder" 2>/dev/null
echo "failed steps: $failed" | tee -a "$OUT/steps.txt"
exit "$failed"
