// oneDNN types, plain layouts and primitive attributes, as every part of the CPU backend
// builds them.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include "paradnn/graph.hpp"

namespace paradnn::cpu {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

Dt to_dnnl(DType t);
Tag plain_tag(size_t rank);  // a, ab, abc, abcd, abcde
memory::desc plain_desc(const Dims& dims, Dt type);
// Attributes every primitive here is created with: user scratchpad, plus a post-op.
dnnl::primitive_attr make_attr(Activation post = Activation::none);
dnnl::algorithm eltwise_algorithm(Activation a, bool use_dst_for_bwd);

}  // namespace paradnn::cpu
