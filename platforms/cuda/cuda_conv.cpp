// 2-D convolution through cuDNN's legacy API (still shipped in cuDNN 9's libcudnn_cnn):
// forward, backward data and backward filter, each with the algorithm cuDNN's _v7
// heuristics rank first among those that run here, chosen once while preparing.
#include <cmath>
#include <stdexcept>

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;
constexpr size_t kMaxWorkspace = size_t(2) << 30;  // heuristics may rank huge-workspace algorithms first

// The first algorithm the heuristics rank that reports success and fits the cap; its
// workspace size comes from the matching GetWorkspaceSize, which also proves it runs.
template <typename Perf, typename GetSize>
Perf pick(const Perf* perf, int count, GetSize&& size_of_algo, const std::string& what, size_t& workspace) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    size_t bytes = 0;
    if (size_of_algo(perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > kMaxWorkspace) continue;
    workspace = bytes;
    return perf[i];
  }
  throw Unsupported(what + ": cuDNN offers no algorithm for this shape and type");
}

class Conv final : public CudaOp {
 public:
  explicit Conv(const OpArgs& a) : a_(a), post_(a) {
    const Dims& in = a.x[0].dims;
    const Dims& out = a.y.dims;
    const Storage t = a.y.type;
    x_desc_ = nchw_desc(t, in);
    y_desc_ = nchw_desc(t, out);
    const int k = static_cast<int>(a.op.kernel), pad = static_cast<int>(a.op.pad), stride = static_cast<int>(a.op.stride);
    PARADNN_CUDA(cudnnSetFilter4dDescriptor(w_desc_, cudnn_type(t), CUDNN_TENSOR_NCHW, static_cast<int>(out[1]),
                                            static_cast<int>(in[1] / a.op.groups), k, k));
    // f32 accumulation for every storage type (cuDNN's "pseudo half/bf16" configurations).
    PARADNN_CUDA(cudnnSetConvolution2dDescriptor(conv_desc_, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
    PARADNN_CUDA(cudnnSetConvolutionMathType(conv_desc_, cudnn_math(a.op.dtype)));
    PARADNN_CUDA(cudnnSetConvolutionGroupCount(conv_desc_, static_cast<int>(a.op.groups)));
    int n = 0, c = 0, h = 0, w = 0;
    PARADNN_CUDA(cudnnGetConvolution2dForwardOutputDim(conv_desc_, x_desc_, w_desc_, &n, &c, &h, &w));
    if (Dims{n, c, h, w} != out) throw std::logic_error(a.op.name + ": cuDNN's output shape differs from the graph's");

    const size_t weights = static_cast<size_t>(elements(a.op.params.at(0).dims));
    const float s = 1.0f / std::sqrt(static_cast<float>(weights / out[1]));
    w_ = &param_blob(a, 0, weights, t, t, -s, s);
    grad_beta_ = weight_grad_beta(a);
    if (a.op.params.size() > 1) {
      bias_desc_ = nchw_desc(t, Dims{1, out[1], 1, 1});
      b_ = &param_blob(a, 1, size_t(out[1]), t, t, -s, s);
    }
    choose_algorithms();
  }

  void forward() override {
    Context& c = a_.ctx;
    PARADNN_CUDA(cudnnConvolutionForward(c.dnn, &kOne, x_desc_, a_.x[0].data, w_desc_, w_->weight(), conv_desc_, fwd_.algo,
                                         c.workspace.get(), c.workspace.bytes(), &kZero, y_desc_, a_.y.data));
    if (b_) PARADNN_CUDA(cudnnAddTensor(c.dnn, &kOne, bias_desc_, b_->weight(), &kOne, y_desc_, a_.y.data));
    post_.forward();
  }

  void backward() override {
    Context& c = a_.ctx;
    post_.backward();
    if (b_) PARADNN_CUDA(cudnnConvolutionBackwardBias(c.dnn, &kOne, y_desc_, a_.dy.data, &grad_beta_, bias_desc_, b_->grad.get()));
    PARADNN_CUDA(cudnnConvolutionBackwardFilter(c.dnn, &kOne, x_desc_, a_.x[0].data, y_desc_, a_.dy.data, conv_desc_,
                                                bwd_filter_.algo, c.workspace.get(), c.workspace.bytes(), &grad_beta_, w_desc_,
                                                w_->grad.get()));
    const GradOut& dx = a_.dx[0];
    if (dx.t.data)
      PARADNN_CUDA(cudnnConvolutionBackwardData(c.dnn, &kOne, w_desc_, w_->weight(), y_desc_, a_.dy.data, conv_desc_,
                                                bwd_data_.algo, c.workspace.get(), c.workspace.bytes(), &dx.beta, x_desc_,
                                                dx.t.data));
  }

  size_t workspace_bytes() const override { return workspace_; }

  std::string impl() const override {
    std::string s = "cudnn conv fwd algo " + std::to_string(fwd_.algo);
    if (a_.training()) s += ", bwd filter algo " + std::to_string(bwd_filter_.algo);
    if (a_.dx[0].t.data) s += ", bwd data algo " + std::to_string(bwd_data_.algo);
    return s;
  }

 private:
  void choose_algorithms() {
    cudnnHandle_t h = a_.ctx.dnn;
    const std::string& name = a_.op.name;
    size_t bytes = 0;
    {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int n = 0;
      PARADNN_CUDA(cudnnGetConvolutionForwardAlgorithm_v7(h, x_desc_, w_desc_, conv_desc_, y_desc_,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
      fwd_ = pick(perf, n, [&](cudnnConvolutionFwdAlgo_t algo, size_t* b) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, x_desc_, w_desc_, conv_desc_, y_desc_, algo, b);
      }, name + " forward", bytes);
      workspace_ = bytes;
    }
    if (!a_.training()) return;
    {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int n = 0;
      PARADNN_CUDA(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x_desc_, y_desc_, conv_desc_, w_desc_,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
      bwd_filter_ = pick(perf, n, [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* b) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x_desc_, y_desc_, conv_desc_, w_desc_, algo, b);
      }, name + " backward filter", bytes);
      workspace_ = std::max(workspace_, bytes);
    }
    if (!a_.dx[0].t.data) return;
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int n = 0;
      PARADNN_CUDA(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w_desc_, y_desc_, conv_desc_, x_desc_,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
      bwd_data_ = pick(perf, n, [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* b) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, w_desc_, y_desc_, conv_desc_, x_desc_, algo, b);
      }, name + " backward data", bytes);
      workspace_ = std::max(workspace_, bytes);
    }
  }

  OpArgs a_;
  PostActivation post_;
  TensorDesc x_desc_, y_desc_, bias_desc_;
  FilterDesc w_desc_;
  ConvDesc conv_desc_;
  ParamBlob* w_ = nullptr;
  ParamBlob* b_ = nullptr;
  float grad_beta_ = 0;  // 1 where a tied op wrote the weight gradients first
  cudnnConvolutionFwdAlgoPerf_t fwd_{};
  cudnnConvolutionBwdFilterAlgoPerf_t bwd_filter_{};
  cudnnConvolutionBwdDataAlgoPerf_t bwd_data_{};
  size_t workspace_ = 0;
};

}  // namespace

std::unique_ptr<CudaOp> make_conv(const OpArgs& a) { return std::make_unique<Conv>(a); }

}  // namespace paradnn::cuda
