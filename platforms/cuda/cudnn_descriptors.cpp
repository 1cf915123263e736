#include "platforms/cuda/cudnn_descriptors.hpp"

#include <stdexcept>

namespace paradnn::cuda {

namespace {

int narrow(int64_t v) {
  if (v > 0x7fffffff) throw std::invalid_argument("tensor extent " + std::to_string(v) + " exceeds cuDNN's int range");
  return static_cast<int>(v);
}

TensorDesc desc4(Storage t, int64_t n, int64_t c, int64_t h, int64_t w) {
  TensorDesc d;
  PARADNN_CUDA(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, cudnn_type(t), narrow(n), narrow(c), narrow(h), narrow(w)));
  return d;
}

}  // namespace

TensorDesc nchw_desc(Storage t, const Dims& d) {
  switch (d.size()) {
    case 1: return desc4(t, 1, d[0], 1, 1);
    case 2: return desc4(t, d[0], d[1], 1, 1);
    case 3: return desc4(t, d[0], d[1], d[2], 1);
    case 4: return desc4(t, d[0], d[1], d[2], d[3]);
    default: throw std::invalid_argument("cuda: tensors of rank " + std::to_string(d.size()) + " are not supported");
  }
}

TensorDesc flat_desc(Storage t, const Dims& d) { return desc4(t, d.at(0), elements(d) / d.at(0), 1, 1); }

ActDesc activation_desc(cudnnActivationMode_t mode) {
  ActDesc a;
  PARADNN_CUDA(cudnnSetActivationDescriptor(a, mode, CUDNN_NOT_PROPAGATE_NAN, 0.0));
  return a;
}

}  // namespace paradnn::cuda
