// Thread placement with hwloc: binds an OpenMP team (and its pool's thread) to cores.
#pragma once
#include "platforms/backend.hpp"

namespace paradnn::cpu {

// Binds the calling thread's OpenMP team of `intra` threads for pool `pool` of `pools`:
// close packs the team on neighbouring cores, spread spaces teams and threads evenly over
// the machine, none returns the threads to the cpuset the process was started with. Returns false where hwloc cannot bind (then the
// threads keep the operating system's placement).
bool bind_team(Affinity a, int pool, int pools, int intra);

// The cores (hwloc logical indices) thread `thread` of pool `pool` gets; exposed for tests.
int core_for(Affinity a, int pool, int pools, int intra, int thread, int cores);

}  // namespace paradnn::cpu
