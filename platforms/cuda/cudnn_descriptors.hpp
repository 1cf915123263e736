// Owned cuDNN descriptors and the NCHW views the ops need.
#pragma once
#include <utility>

#include "paradnn/graph.hpp"
#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/cuda_types.hpp"

namespace paradnn::cuda {

template <typename H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
class Descriptor {
 public:
  Descriptor() { check(Create(&h_), "cudnnCreate*Descriptor"); }
  ~Descriptor() {
    if (h_) Destroy(h_);
  }
  Descriptor(Descriptor&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Descriptor& operator=(Descriptor&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator H() const { return h_; }

 private:
  H h_{};
};

using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using ActDesc = Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;
using DropoutDesc = Descriptor<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>;
using RnnDesc = Descriptor<cudnnRNNDescriptor_t, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor>;
using RnnDataDesc = Descriptor<cudnnRNNDataDescriptor_t, cudnnCreateRNNDataDescriptor, cudnnDestroyRNNDataDescriptor>;

// A tensor of any rank as cuDNN's 4-D NCHW: [N, C] -> N,C,1,1; [T, N, C] -> T,N,C,1.
// Channel-wise ops (batch norm) therefore normalize over dim 1 as the IR says.
TensorDesc nchw_desc(Storage t, const Dims& d);
// Element-wise view as [dim0, rest, 1, 1], which keeps every extent within int range.
TensorDesc flat_desc(Storage t, const Dims& d);
ActDesc activation_desc(cudnnActivationMode_t mode);

}  // namespace paradnn::cuda
