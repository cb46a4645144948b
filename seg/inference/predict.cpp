// Prediction on image files (seg/inference/predict.h).
#include "seg/inference/predict.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "data/file_util.h"
#include "data/image_io.h"
#include "data/label_map.h"
#include "data/npy.h"
#include "data/sample_rng.h"
#include "kernels/reduce/reduce.h"
#include "kernels/resize/interpolate.h"
#include "kernels/softmax/softmax.h"
#include "seg/inference/input_size.h"
#include "seg/inference/visualize.h"

namespace segcore::seg {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

bool ends_with_txt(const std::string& s) {
    return s.size() >= 4 && std::equal(s.end() - 4, s.end(), ".txt",
                                       [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace

// ---- Predictor ----

Predictor::Predictor(SegModel& model, ModelCard card, InferOptions opt, Device device)
    : model_(model), card_(std::move(card)), opt_(std::move(opt)), device_(device) {
    opt_.validate("inference");
    data::TransformContext ctx;
    ctx.ignore_index = card_.ignore_index;
    pipeline_ = data::Compose::from_json(card_.preprocessing, ctx, "preprocessing");
    for (const autograd::Variable& p : model_.parameters()) {
        SEGCORE_CHECK(p.device() == device_, "predict: the model is on ", p.device().str(),
                      " but the predictor runs on ", device_.str());
        break;
    }
    model_.eval();
}

Prediction Predictor::predict(const data::Image& image, const std::string& name) const {
    return predict_input(prepare(image, name), image.height, image.width, name);
}

Tensor Predictor::prepare(const data::Image& image, const std::string& name) const {
    SEGCORE_CHECK(!image.empty() && image.channels == card_.image_channels, name, ": expected an image with ",
                  card_.image_channels, " channel(s) (the model's image_channels), got ", image.channels);
    // The same path as a dataset sample: f32 on the 0-255 scale, then the card's preprocessing.
    data::Sample s;
    s.image.height = image.height;
    s.image.width = image.width;
    s.image.channels = image.channels;
    s.image.pixels.assign(image.pixels.begin(), image.pixels.end());
    s.id = name;
    data::SampleRng rng(0, 0, 0);
    try {
        pipeline_.apply(s, rng);
    } catch (const Error& e) {
        SEGCORE_THROW(name, ": preprocessing failed: ", e.message());
    }
    const int64_t c = s.image.channels, h = s.image.height, w = s.image.width, plane = h * w;
    Tensor x = empty({1, c, h, w}, DType::F32);
    float* dst = x.data<float>();
    for (int64_t p = 0; p < plane; ++p)
        for (int64_t k = 0; k < c; ++k) dst[k * plane + p] = s.image.pixels[size_t(p * c + k)];
    return x.to(device_);
}

Prediction Predictor::predict_input(const Tensor& input, int64_t out_h, int64_t out_w, const std::string& name,
                                    bool with_logits) const {
    SEGCORE_CHECK(!with_logits || opt_.single_variant(), name,
                  ": logits are not defined with flip or multi-scale TTA (the result averages probabilities: ",
                  opt_.str(), "); ask for probabilities instead");
    Prediction out;
    try {
        if (with_logits) {
            // infer_probabilities computes exactly this for one variant, so probs stay bit-identical.
            out.logits = infer_logits(model_, input, opt_);
            out.probs = ops::softmax(out.logits, 1);
        } else {
            out.probs = infer_probabilities(model_, input, opt_);
        }
    } catch (const Error&) {
        explain_input_size_failure(model_, input, opt_, name);  // throws when the image is too small
        throw;
    }
    // A preprocessing that resized the image: the prediction goes back to the image's own size.
    if (input.size(2) != out_h || input.size(3) != out_w) {
        const auto size = ops::InterpolateOptions::size(out_h, out_w);
        out.probs = ops::interpolate(out.probs, size);
        if (with_logits) out.logits = ops::interpolate(out.logits, size);
    }
    const Tensor labels = ops::argmax(out.probs, 1).cpu().contiguous();
    out.labels.height = out_h;
    out.labels.width = out_w;
    out.labels.labels.resize(size_t(out_h * out_w));
    const int64_t* lp = labels.data<int64_t>();
    for (size_t i = 0; i < out.labels.labels.size(); ++i) out.labels.labels[i] = int32_t(lp[i]);
    return out;
}

// ---- inputs ----

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
    std::vector<std::string> files;
    for (const std::string& in : inputs) {
        if (data::directory_exists(in)) {
            // Every image-named entry, unreadable ones too (a dangling symlink, a loop): reading it
            // reports it by name, instead of the file silently missing from the outputs.
            std::vector<std::string> found;
            for (const std::string& name : data::list_folder_files(in, /*recursive=*/false))
                if (is_image_name(name)) found.push_back(data::join_path(in, name));
            SEGCORE_CHECK(!found.empty(), in, ": no .png/.jpg/.jpeg/.bmp images in this folder");
            files.insert(files.end(), found.begin(), found.end());
        } else if (ends_with_txt(in)) {
            std::ifstream f(in);
            SEGCORE_CHECK(f.good(), in, ": cannot read this list file");
            const fs::path base = fs::path(in).parent_path();
            std::string line;
            int64_t number = 0;
            while (std::getline(f, line)) {
                ++number;
                const std::string p = trim(line);
                if (p.empty() || p[0] == '#') continue;
                std::string path = p;
                if (fs::path(p).is_relative() && data::file_exists((base / p).string())) path = (base / p).string();
                SEGCORE_CHECK(data::file_exists(path), in, ":", number, ": no such image file: ", p);
                files.push_back(path);
            }
        } else {
            SEGCORE_CHECK(data::file_exists(in), in, ": no such file or folder");
            files.push_back(in);
        }
    }
    return files;
}

std::string find_truth_mask(const std::string& dir, const std::string& stem) {
    for (const char* suffix : {".png", "_L.png"}) {
        const std::string p = data::join_path(dir, stem + suffix);
        if (data::file_exists(p)) return p;
    }
    return "";
}

data::Mask read_truth_mask(const std::string& path, const ModelCard& card) {
    data::MaskFile f = data::read_mask_file(path);
    // CamVid's _L.png and similar: colours through the palette, unknown colours ignored.
    if (f.is_rgb()) return data::rgb_to_mask(f.rgb, card.palette, path, card.ignore_index);
    // Index masks by the rule eval and train apply: a label outside the classes and the ignore
    // index is an error naming the file and the values, not a pixel counted as wrong.
    return data::LabelMapper(card.label_spec()).map_checked(std::move(f), path);
}

// ---- the whole job ----

namespace {

// A (1, K, H, W) f32 prediction tensor, on any device, as a (K, H, W) .npy file.
void write_npy_chw(const std::string& path, const Tensor& t) {
    const Tensor host = t.to(Device::cpu(), DType::F32).contiguous();  // f32 already; to() is then a no-op
    data::write_npy_f32(path, {host.size(1), host.size(2), host.size(3)}, host.data<float>());
}

// One image: read it (and its ground truth, so a bad mask fails before any output is written),
// predict, write the files. Errors name the image or mask file.
void predict_one(const Predictor& predictor, const PredictOptions& opt, PredictedFile& r) {
    const ModelCard& card = predictor.card();
    const data::Image image = data::read_image(r.image, card.image_channels);
    data::Mask truth;
    if (!opt.masks_dir.empty()) {
        r.truth = find_truth_mask(opt.masks_dir, r.stem);
        if (!r.truth.empty()) {
            truth = read_truth_mask(r.truth, card);
            SEGCORE_CHECK(truth.height == image.height && truth.width == image.width, "predict: the mask ", r.truth,
                          " is ", truth.width, "x", truth.height, " but the image ", r.image, " is ", image.width, "x",
                          image.height, " (width x height)");
        }
    }
    const Prediction p =
        predictor.predict_input(predictor.prepare(image, r.image), image.height, image.width, r.image, opt.save_logits);
    const auto out = [&](const std::string& suffix) {
        const std::string path = data::join_path(opt.out_dir, r.stem + suffix);
        r.outputs.push_back(path);
        return path;
    };
    data::write_index_png(out("_index.png"), p.labels);
    data::write_png(out("_color.png"), colorize_mask(p.labels, card.palette));
    data::write_png(out("_overlay.png"), overlay_with_legend(image, p.labels, card.classes, card.palette, opt.alpha));
    if (opt.entropy) data::write_png(out("_entropy.png"), heat_colormap(entropy_map(p.probs)));
    if (opt.save_logits) write_npy_chw(out("_logits.npy"), p.logits);
    if (opt.save_probs) write_npy_chw(out("_probs.npy"), p.probs);
    if (r.truth.empty()) return;
    data::write_png(out("_error.png"), error_map(image, p.labels, truth, card.ignore_index));
    for (size_t i = 0; i < truth.labels.size(); ++i) {
        if (truth.labels[i] == card.ignore_index) continue;
        ++r.counted;
        r.correct += truth.labels[i] == p.labels.labels[i];
    }
    if (r.counted) r.pixel_accuracy = double(r.correct) / double(r.counted);
}

}  // namespace

std::vector<PredictedFile> predict_files(const Predictor& predictor, const std::vector<std::string>& images,
                                         const PredictOptions& opt,
                                         const std::function<void(const PredictedFile&)>& on_file) {
    std::map<std::string, std::string> stems;
    for (const std::string& img : images) {
        const std::string stem = fs::path(img).stem().string();
        const auto [it, fresh] = stems.emplace(stem, img);
        SEGCORE_CHECK(fresh, "predict: ", it->second, " and ", img, " have the same name '", stem,
                      "' and would overwrite each other's outputs");
    }
    SEGCORE_CHECK(opt.masks_dir.empty() || data::directory_exists(opt.masks_dir), "predict: --masks ", opt.masks_dir,
                  " is not a folder");
    // Checked here, not per image: with --skip-bad every image would be skipped for it.
    SEGCORE_CHECK(!opt.save_logits || predictor.options().single_variant(),
                  "predict: --save-logits: logits are not defined with flip or multi-scale test-time augmentation (",
                  predictor.options().str(), ": the prediction averages probabilities); use --save-probs, or ",
                  "--no-flip and --scales 1");
    std::error_code ec;
    fs::create_directories(opt.out_dir, ec);
    SEGCORE_CHECK(!ec, "predict: cannot create the output folder ", opt.out_dir, ": ", ec.message());

    std::vector<PredictedFile> done;
    for (const std::string& img : images) {
        PredictedFile r;
        r.image = img;
        r.stem = fs::path(img).stem().string();
        try {
            predict_one(predictor, opt, r);
        } catch (const Error& e) {
            if (!opt.skip_bad) throw;
            r.error = e.message();
            r.outputs.clear();  // written before the error: kept, but not reported as this image's
        }
        if (on_file) on_file(r);
        done.push_back(std::move(r));
    }
    return done;
}

}  // namespace segcore::seg
