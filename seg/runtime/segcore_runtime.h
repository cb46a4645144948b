#pragma once
// segcore's embedding runtime: run a trained model (the self-describing best_model.safetensors)
// inside your own program. This is the one header to include; it uses only the C++ standard
// library (no segcore internals, nlohmann, Eigen or CUDA), which a test enforces. docs/runtime.md
// has the example, the threading contract and the errors.
//
//   segcore::runtime::Session s("best_model.safetensors", {.device = "cpu"});
//   segcore::runtime::ImageView img{pixels, height, width, segcore::runtime::PixelFormat::RGB8};
//   segcore::runtime::Result r = s.run(img, {.labels = true, .confidence = true});
//   // r.labels_u8[y * width + x] is the class of pixel (y, x); r.confidence its probability.
//
// A call runs the model card's pipeline: the card's preprocessing (colour order, normalisation,
// resize), inference as the card says (whole image or sliding windows, TTA), then the probabilities
// resized back to the image's size and their argmax. The results equal `segcore predict`'s
// (seg::Predictor) bit for bit.
//
// Threads: run() is const and may be called from any number of threads at once on one Session;
// it keeps no state between calls. Opening and destroying a Session are not concurrent with run().
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace segcore::runtime {

// Errors are thrown as runtime::Error; code() says whose fault it was.
enum class ErrorCode {
    InvalidArgument = 1,  // the caller's input: wrong channels, empty image, NULL buffer, bad option
    Model = 2,            // the model file: missing, corrupt, incompatible, non-finite weights
    Runtime = 3,          // during inference: image smaller than the model's minimum, device errors
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

private:
    ErrorCode code_;
};

enum class Precision { F32, F16, BF16 };  // F16 / BF16: convolutions and matmuls under autocast

struct SessionOptions {
    std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
    // CPU worker threads. The pool is shared by the whole process, so this sets it for every
    // session (and every other segcore user in the process); 0 leaves it as it is
    // (SEGCORE_NUM_THREADS or the number of cores).
    int threads = 0;
    Precision precision = Precision::F32;
    // The largest batch one forward pass may hold. Kept for the batching API; run() processes
    // one image per forward pass today, so any value >= 1 gives the same results.
    int64_t max_batch = 1;
    bool allow_nonfinite = false;  // load a file with NaN/Inf weights instead of refusing it
};

enum class PixelFormat {
    RGB8,     // u8, height x width x 3, red first
    BGR8,     // u8, height x width x 3, blue first (OpenCV's order); converted to the model's RGB
    Gray8,    // u8, height x width x 1 (for models with one image channel)
    F32NCHW,  // f32, channels x height x width planes, already preprocessed (normalised, resized)
};

// A caller-owned image; the runtime only reads it during run(). For the u8 formats `row_stride` is
// the distance between rows in bytes (0: packed, width * channels); F32NCHW must be packed.
struct ImageView {
    const void* data = nullptr;
    int64_t height = 0, width = 0;
    PixelFormat format = PixelFormat::RGB8;
    int64_t row_stride = 0;
};

// What run() should compute. Planes are row-major at the image's size (H x W); per-class
// outputs are K planes one after the other (K x H x W).
struct Request {
    bool labels = true;          // class per pixel: labels_u8 (K <= 256) or labels_u16 (more classes)
    bool probabilities = false;  // softmax over the classes (averaged over TTA variants)
    bool logits = false;         // raw scores; only without flip / multi-scale TTA
    bool confidence = false;     // the largest probability of each pixel
    bool entropy = false;        // -sum_k p_k ln p_k per pixel, in nats (0 = certain, ln K = uniform)
};

// Runtime-allocated results: the vectors asked for are filled, the others stay empty.
struct Result {
    int64_t height = 0, width = 0, num_classes = 0;
    std::vector<uint8_t> labels_u8;
    std::vector<uint16_t> labels_u16;
    std::vector<float> probabilities, logits, confidence, entropy;
};

// Caller-owned results: every non-null pointer is filled (and says that output is wanted). Sizes:
// labels H*W, probabilities and logits K*H*W, confidence and entropy H*W elements. Only one of
// labels_u8 / labels_u16; labels_u8 needs K <= 256.
struct OutputBuffers {
    uint8_t* labels_u8 = nullptr;
    uint16_t* labels_u16 = nullptr;
    float* probabilities = nullptr;
    float* logits = nullptr;
    float* confidence = nullptr;
    float* entropy = nullptr;
};

class Session {
public:
    // Loads the model file and its card; throws Error(Model) for a missing, corrupt or
    // incompatible file and Error(InvalidArgument) for bad options.
    explicit Session(const std::string& model_path, const SessionOptions& options = {});
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Result run(const ImageView& image, const Request& request = {}) const;
    void run(const ImageView& image, const OutputBuffers& out) const;

    int64_t num_classes() const;
    int image_channels() const;  // 1 or 3: what the u8 formats must carry
    const std::vector<std::string>& class_names() const;
    std::vector<uint8_t> palette() const;  // r, g, b per class (3 * K bytes)
    std::string device() const;            // "cpu", "cuda:0", ...
    const SessionOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace segcore::runtime
