// The embedding runtime's Session (seg/runtime/segcore_runtime.h): a thin layer over
// seg::Predictor, the inference path `segcore predict` uses, so both give the same bits.
#include <cmath>
#include <cstring>
#include <optional>

#include "autograd/autocast.h"
#include "core/device.h"
#include "core/error.h"
#include "core/parallel.h"
#include "seg/inference/model_card.h"
#include "seg/inference/predict.h"
#include "seg/models/model_file.h"
#include "seg/runtime/segcore_runtime.h"

namespace segcore::runtime {

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

// Runs f, turning any internal error into runtime::Error(code) with the same message.
template <typename F>
auto translate(ErrorCode code, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const runtime::Error&) {
        throw;
    } catch (const segcore::Error& e) {
        throw Error(code, e.message());
    } catch (const std::exception& e) {
        throw Error(code, e.what());
    }
}

const char* format_name(PixelFormat f) {
    switch (f) {
        case PixelFormat::RGB8:
            return "RGB8";
        case PixelFormat::BGR8:
            return "BGR8";
        case PixelFormat::Gray8:
            return "Gray8";
        case PixelFormat::F32NCHW:
            return "F32NCHW";
    }
    return "?";
}

int format_channels(PixelFormat f) { return f == PixelFormat::Gray8 ? 1 : 3; }

}  // namespace

struct Session::Impl {
    SessionOptions options;
    Device device;
    seg::LoadedModel loaded;
    seg::ModelCard card;
    std::optional<seg::Predictor> predictor;  // refers to *loaded.model, so built after it
};

Session::Session(const std::string& model_path, const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.options = options;
    translate(ErrorCode::InvalidArgument, [&] {
        s.device = Device::parse(options.device);
        if (s.device.is_cuda()) require_cuda("segcore::runtime::Session (device cuda)");
        SEGCORE_CHECK(options.threads >= 0, "SessionOptions.threads: expected 0 (leave as is) or more, got ",
                      options.threads);
        SEGCORE_CHECK(options.max_batch >= 1, "SessionOptions.max_batch: expected at least 1, got ", options.max_batch);
    });
    translate(ErrorCode::Model, [&] {
        s.loaded = seg::load_model_file(model_path, options.allow_nonfinite);
        s.card = seg::ModelCard::from_metadata(s.loaded.metadata, model_path);
        s.loaded.model->to(s.device);
        s.predictor.emplace(*s.loaded.model, s.card, s.card.inference, s.device);
    });
    if (options.threads > 0) set_num_threads(options.threads);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

int64_t Session::num_classes() const { return impl_->card.num_classes(); }
int Session::image_channels() const { return impl_->card.image_channels; }
const std::vector<std::string>& Session::class_names() const { return impl_->card.classes; }
std::string Session::device() const { return impl_->device.str(); }
const SessionOptions& Session::options() const { return impl_->options; }

std::vector<uint8_t> Session::palette() const {
    std::vector<uint8_t> out;
    for (const auto& c : impl_->card.palette) out.insert(out.end(), c.begin(), c.end());
    return out;
}

void Session::run(const ImageView& image, const OutputBuffers& out) const {
    const Impl& s = *impl_;
    const int64_t k = s.card.num_classes();
    // The caller's mistakes first, before any work, as InvalidArgument.
    if (!image.data) invalid("run: the image has no pixels (ImageView.data is null)");
    if (image.height <= 0 || image.width <= 0)
        invalid("run: expected an image of at least 1x1 pixels, got " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " (width x height)");
    if (image.format == PixelFormat::F32NCHW) {
        if (image.row_stride != 0) invalid("run: an F32NCHW image must be packed (row_stride 0)");
    } else {
        if (format_channels(image.format) != s.card.image_channels)
            invalid(std::string("run: the model expects images with ") + std::to_string(s.card.image_channels) +
                    " channel(s), got a " + format_name(image.format) + " image (" +
                    std::to_string(format_channels(image.format)) + " channel(s))");
        if (image.row_stride != 0 && image.row_stride < image.width * format_channels(image.format))
            invalid("run: row_stride " + std::to_string(image.row_stride) + " is smaller than a row (" +
                    std::to_string(image.width * format_channels(image.format)) + " bytes)");
    }
    if (out.labels_u8 && out.labels_u16) invalid("run: ask for labels_u8 or labels_u16, not both");
    if (out.labels_u8 && k > 256)
        invalid("run: the model has " + std::to_string(k) + " classes, too many for labels_u8: use labels_u16");
    if (!out.labels_u8 && !out.labels_u16 && !out.probabilities && !out.logits && !out.confidence && !out.entropy)
        invalid("run: no output asked for (every OutputBuffers pointer is null)");

    const int64_t h = image.height, w = image.width, plane = h * w;
    const seg::Prediction p = translate(ErrorCode::Runtime, [&] {
        // Precision is per call (autocast flags are thread-local), never session state.
        std::optional<autograd::AutocastGuard> autocast;
        if (s.options.precision != Precision::F32)
            autocast.emplace(s.options.precision == Precision::F16 ? DType::F16 : DType::BF16);
        if (image.format == PixelFormat::F32NCHW) {
            Tensor x = empty({1, int64_t(s.card.image_channels), h, w}, DType::F32);
            std::memcpy(x.data<float>(), image.data, size_t(int64_t(s.card.image_channels) * plane) * sizeof(float));
            return s.predictor->predict_input(x.to(s.device), h, w, "image", out.logits != nullptr);
        }
        // u8 HWC as data::Image (RGB order), then the card's preprocessing in Predictor::prepare.
        const int64_t c = format_channels(image.format);
        const int64_t stride = image.row_stride ? image.row_stride : w * c;
        data::Image im;
        im.height = h, im.width = w, im.channels = c;
        im.pixels.resize(size_t(plane * c));
        const auto* src = static_cast<const uint8_t*>(image.data);
        for (int64_t y = 0; y < h; ++y) {
            const uint8_t* row = src + y * stride;
            uint8_t* dst = im.pixels.data() + y * w * c;
            if (image.format == PixelFormat::BGR8) {
                for (int64_t x = 0; x < w; ++x) {
                    dst[3 * x] = row[3 * x + 2];
                    dst[3 * x + 1] = row[3 * x + 1];
                    dst[3 * x + 2] = row[3 * x];
                }
            } else {
                std::memcpy(dst, row, size_t(w * c));
            }
        }
        return s.predictor->predict_input(s.predictor->prepare(im, "image"), h, w, "image", out.logits != nullptr);
    });

    for (int64_t i = 0; i < plane; ++i) {
        const int32_t l = p.labels.labels[size_t(i)];
        if (out.labels_u8) out.labels_u8[i] = uint8_t(l);
        if (out.labels_u16) out.labels_u16[i] = uint16_t(l);
    }
    if (out.logits) {
        const Tensor logits = p.logits.cpu().contiguous();
        std::memcpy(out.logits, logits.data<float>(), size_t(k * plane) * sizeof(float));
    }
    if (!out.probabilities && !out.confidence && !out.entropy) return;
    const Tensor probs = p.probs.cpu().contiguous();
    const float* pr = probs.data<float>();
    if (out.probabilities) std::memcpy(out.probabilities, pr, size_t(k * plane) * sizeof(float));
    for (int64_t i = 0; i < plane && (out.confidence || out.entropy); ++i) {
        float best = 0.f;
        double ent = 0.0;
        for (int64_t c = 0; c < k; ++c) {
            const float v = pr[c * plane + i];
            best = std::max(best, v);
            if (v > 0.f) ent -= double(v) * std::log(double(v));
        }
        if (out.confidence) out.confidence[i] = best;
        if (out.entropy) out.entropy[i] = float(ent);
    }
}

Result Session::run(const ImageView& image, const Request& request) const {
    Result r;
    r.height = image.height, r.width = image.width, r.num_classes = num_classes();
    const size_t plane = size_t(std::max<int64_t>(image.height, 0) * std::max<int64_t>(image.width, 0));
    const size_t planes = plane * size_t(r.num_classes);
    OutputBuffers b;
    if (request.labels) {
        if (r.num_classes <= 256) {
            r.labels_u8.resize(plane);
            b.labels_u8 = r.labels_u8.data();
        } else {
            r.labels_u16.resize(plane);
            b.labels_u16 = r.labels_u16.data();
        }
    }
    const auto want = [](bool on, std::vector<float>& v, size_t n, float*& ptr) {
        if (!on) return;
        v.resize(n);
        ptr = v.data();
    };
    want(request.probabilities, r.probabilities, planes, b.probabilities);
    want(request.logits, r.logits, planes, b.logits);
    want(request.confidence, r.confidence, plane, b.confidence);
    want(request.entropy, r.entropy, plane, b.entropy);
    run(image, b);
    return r;
}

}  // namespace segcore::runtime
