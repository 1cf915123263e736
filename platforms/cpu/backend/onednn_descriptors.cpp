#include "platforms/cpu/backend/onednn_descriptors.hpp"

#include <stdexcept>
#include <string>

namespace paradnn::cpu {

Dt to_dnnl(DType t) {
  switch (t) {
    case DType::f32: return Dt::f32;
    case DType::bf16: return Dt::bf16;
    case DType::f16: return Dt::f16;
    case DType::int8: return Dt::s8;
    case DType::s32: return Dt::s32;
    case DType::int16_dfp: return Dt::f32;  // only dense and conv compute in DFP (onednn_dfp.cpp)
    default: throw std::invalid_argument("the CPU backend has no " + std::string(to_string(t)) + " tensors");
  }
}

Tag plain_tag(size_t rank) {
  static const Tag tags[] = {Tag::undef, Tag::a, Tag::ab, Tag::abc, Tag::abcd, Tag::abcde};
  if (rank == 0 || rank > 5) throw std::invalid_argument("tensor rank " + std::to_string(rank) + " unsupported");
  return tags[rank];
}

memory::desc plain_desc(const Dims& dims, Dt type) {
  return memory::desc(memory::dims(dims.begin(), dims.end()), type, plain_tag(dims.size()));
}

dnnl::algorithm eltwise_algorithm(Activation a, bool use_dst_for_bwd) {
  switch (a) {
    case Activation::relu: return use_dst_for_bwd ? dnnl::algorithm::eltwise_relu_use_dst_for_bwd : dnnl::algorithm::eltwise_relu;
    case Activation::tanh: return use_dst_for_bwd ? dnnl::algorithm::eltwise_tanh_use_dst_for_bwd : dnnl::algorithm::eltwise_tanh;
    case Activation::gelu: return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::none: break;
  }
  throw std::logic_error("no eltwise algorithm for this activation");
}

dnnl::primitive_attr make_attr(Activation post) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (post != Activation::none) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, eltwise_algorithm(post, false), 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return attr;
}

}  // namespace paradnn::cpu
