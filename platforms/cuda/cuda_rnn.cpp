// Stacked RNN cells (tanh, LSTM, GRU) over the whole sequence through cuDNN's v8 RNN API:
// one RNN descriptor covers all layers; cudnnRNNForward (training or inference),
// cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8.
//
// The weights live in cuDNN's opaque weight space, one parameter blob per op; the graph's
// per-layer w_x [G*H, in], w_h [G*H, H] and bias [G*H] are registered as views into it,
// gate by gate as cudnnGetRNNWeightParams places them (gate order is cuDNN's: LSTM
// i, f, g, o; GRU r, z, n). One input bias per gate (CUDNN_RNN_SINGLE_INP_BIAS) matches
// the graph's parameter count. Initial states are zero (null hx, cx).
#include <cmath>
#include <stdexcept>
#include <vector>

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

cudnnRNNMode_t cell_mode(RnnCell c) {
  switch (c) {
    case RnnCell::rnn: return CUDNN_RNN_TANH;
    case RnnCell::lstm: return CUDNN_LSTM;
    case RnnCell::gru: return CUDNN_GRU;
  }
  return CUDNN_RNN_TANH;
}

// cuDNN's RNN math types: f32 must stay on FMA kernels; tf32 is what its default math
// does for float data on sm_80+; 16-bit data runs on tensor cores with f32 math.
cudnnMathType_t rnn_math(DType t) {
  if (t == DType::f32) return CUDNN_FMA_MATH;
  if (t == DType::tf32) return CUDNN_DEFAULT_MATH;
  return CUDNN_TENSOR_OP_MATH;
}

int narrow(int64_t v) { return static_cast<int>(v); }

class Rnn final : public CudaOp {
 public:
  explicit Rnn(const OpArgs& a) : a_(a) {
    const Dims& in = a.x[0].dims;  // [T, N, E]
    seq_ = narrow(in[0]);
    batch_ = narrow(in[1]);
    input_ = narrow(in[2]);
    hidden_ = narrow(a.y.dims[2]);
    layers_ = narrow(a.op.layers);
    gates_ = gates(a.op.cell);
    const Storage t = a.y.type;
    Context& c = a.ctx;

    // A dropout descriptor with rate 0 rather than null, as NVIDIA's own samples pass.
    size_t states = 0;
    PARADNN_CUDA(cudnnDropoutGetStatesSize(c.dnn, &states));
    dropout_states_ = DeviceBuffer(states);
    PARADNN_CUDA(cudnnSetDropoutDescriptor(dropout_, c.dnn, 0.0f, dropout_states_.get(), states, 0));

    const cudnnStatus_t st = cudnnSetRNNDescriptor_v8(
        rnn_, CUDNN_RNN_ALGO_STANDARD, cell_mode(a.op.cell), CUDNN_RNN_SINGLE_INP_BIAS, CUDNN_UNIDIRECTIONAL,
        CUDNN_LINEAR_INPUT, cudnn_type(t), CUDNN_DATA_FLOAT, rnn_math(a.op.dtype), input_, hidden_, hidden_, layers_, dropout_,
        CUDNN_RNN_PADDED_IO_ENABLED);
    if (st != CUDNN_STATUS_SUCCESS)  // e.g. a data type this cuDNN's RNN does not take: a skipped point
      throw Unsupported(a.op.name + ": cuDNN RNN refuses " + to_string(t) + " " + std::string(to_string(a.op.cell)) +
                        ": " + cudnnGetErrorString(st));

    const std::vector<int> lengths(size_t(batch_), seq_);
    PARADNN_CUDA(cudnnSetRNNDataDescriptor(x_desc_, cudnn_type(t), CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, seq_, batch_,
                                           input_, lengths.data(), nullptr));
    PARADNN_CUDA(cudnnSetRNNDataDescriptor(y_desc_, cudnn_type(t), CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, seq_, batch_,
                                           hidden_, lengths.data(), nullptr));
    const int h_dims[3] = {layers_, batch_, hidden_}, h_strides[3] = {batch_ * hidden_, hidden_, 1};
    PARADNN_CUDA(cudnnSetTensorNdDescriptor(h_desc_, cudnn_type(t), 3, h_dims, h_strides));
    dev_lengths_ = DeviceBuffer(lengths.size() * sizeof(int32_t));
    PARADNN_CUDA(cudaMemcpy(dev_lengths_.get(), lengths.data(), dev_lengths_.bytes(), cudaMemcpyHostToDevice));

    size_t weight_bytes = 0;
    PARADNN_CUDA(cudnnGetRNNWeightSpaceSize(c.dnn, rnn_, &weight_bytes));
    PARADNN_CUDA(cudnnGetRNNTempSpaceSizes(c.dnn, rnn_, a.training() ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                                           x_desc_, &workspace_, &reserve_bytes_));
    if (reserve_bytes_) reserve_ = DeviceBuffer(reserve_bytes_);
    const float s = 1.0f / std::sqrt(static_cast<float>(hidden_));  // frameworks' RNN initialization
    w_ = &a.params.add(a.op.name + ".weight_space", a.index, weight_bytes / size_of(t), t, t, -s, s, c.stream);
    register_views();
    // cuDNN always writes dx and overwrites it: where the input wants none, or wants a sum
    // with another consumer's gradient, it goes through a scratch buffer.
    if (a.training() && !writes_dx_directly()) dx_scratch_ = DeviceBuffer(a.x[0].count() * size_of(t));
  }

  void forward() override {
    Context& c = a_.ctx;
    PARADNN_CUDA(cudnnRNNForward(c.dnn, rnn_, a_.training() ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                                 dev_lengths_.as<int32_t>(), x_desc_, a_.x[0].data, y_desc_, a_.y.data, h_desc_, nullptr,
                                 nullptr, h_desc_, nullptr, nullptr, w_bytes(), w_->weight(), c.workspace.bytes(),
                                 c.workspace.get(), reserve_bytes_, reserve_.get()));
  }

  // Backward data must precede backward weights: it leaves in the reserve space what the
  // weight gradient reads. cuDNN only adds into dweights, so they are zeroed first.
  void backward() override {
    Context& c = a_.ctx;
    const GradOut& dx = a_.dx[0];
    void* dx_data = writes_dx_directly() ? dx.t.data : dx_scratch_.get();
    PARADNN_CUDA(cudnnRNNBackwardData_v8(c.dnn, rnn_, dev_lengths_.as<int32_t>(), y_desc_, a_.y.data, a_.dy.data, x_desc_,
                                         dx_data, h_desc_, nullptr, nullptr, nullptr, h_desc_, nullptr, nullptr, nullptr,
                                         w_bytes(), w_->weight(), c.workspace.bytes(), c.workspace.get(), reserve_bytes_,
                                         reserve_.get()));
    if (dx.t.data && !writes_dx_directly()) accumulate(a_.y.type, dx.t.data, dx_scratch_.get(), a_.x[0].count(), dx.beta, c.stream);
    PARADNN_CUDA(cudaMemsetAsync(w_->grad.get(), 0, w_->grad.bytes(), c.stream));
    PARADNN_CUDA(cudnnRNNBackwardWeights_v8(c.dnn, rnn_, CUDNN_WGRAD_MODE_ADD, dev_lengths_.as<int32_t>(), x_desc_,
                                            a_.x[0].data, h_desc_, nullptr, y_desc_, a_.y.data, w_bytes(), w_->grad.get(),
                                            c.workspace.bytes(), c.workspace.get(), reserve_bytes_, reserve_.get()));
  }

  size_t workspace_bytes() const override { return workspace_; }
  std::string impl() const override {
    return std::string("cudnnRNN ") + std::string(to_string(a_.op.cell)) + " standard " + to_string(a_.y.type);
  }

 private:
  size_t w_bytes() const { return w_->n * size_of(w_->weight_type); }

  bool writes_dx_directly() const { return a_.dx[0].t.data && a_.dx[0].beta == 0.0f; }

  // The graph's w_x, w_h and bias of each layer as runs in the weight space, gate by gate.
  void register_views() {
    const size_t elem = size_of(w_->weight_type);
    const char* base = static_cast<const char*>(w_->weight());
    TensorDesc m_desc, b_desc;
    size_t covered = 0;
    for (int l = 0; l < layers_; ++l) {
      const std::string p = a_.op.name + ".l" + std::to_string(l);
      ParamView wx{blob_index(), {}}, wh{blob_index(), {}}, bias{blob_index(), {}};
      for (int id = 0; id < 2 * gates_; ++id) {  // ids < gates: input matrices; the rest: recurrent
        void* m = nullptr;
        void* b = nullptr;
        PARADNN_CUDA(cudnnGetRNNWeightParams(a_.ctx.dnn, rnn_, l, w_bytes(), w_->weight(), id, m_desc, &m, b_desc, &b));
        const size_t m_count = size_t(hidden_) * size_t(id < gates_ ? (l == 0 ? input_ : hidden_) : hidden_);
        (id < gates_ ? wx : wh).runs.push_back({size_t(static_cast<const char*>(m) - base) / elem, m_count});
        covered += m_count;
        if (b && id < gates_) {  // single input bias: only the input matrices carry one
          bias.runs.push_back({size_t(static_cast<const char*>(b) - base) / elem, size_t(hidden_)});
          covered += size_t(hidden_);
        }
      }
      a_.params.add_view(p + ".w_x", wx);
      a_.params.add_view(p + ".w_h", wh);
      a_.params.add_view(p + ".bias", bias);
    }
    int64_t expected = 0;
    for (const Param& p : a_.op.params) expected += elements(p.dims);
    if (static_cast<int64_t>(covered) != expected)
      throw std::logic_error(a_.op.name + ": cuDNN's weight space holds " + std::to_string(covered) +
                             " parameters, the graph counts " + std::to_string(expected));
  }

  size_t blob_index() const { return a_.params.blobs().size() - 1; }

  OpArgs a_;
  int seq_ = 0, batch_ = 0, input_ = 0, hidden_ = 0, layers_ = 0, gates_ = 1;
  DropoutDesc dropout_;
  RnnDesc rnn_;
  RnnDataDesc x_desc_, y_desc_;
  TensorDesc h_desc_;
  DeviceBuffer dropout_states_, dev_lengths_, reserve_, dx_scratch_;
  size_t workspace_ = 0, reserve_bytes_ = 0;
  ParamBlob* w_ = nullptr;
};

}  // namespace

std::unique_ptr<CudaOp> make_rnn(const OpArgs& a) { return std::make_unique<Rnn>(a); }

}  // namespace paradnn::cuda
