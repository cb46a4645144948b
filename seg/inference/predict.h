#pragma once
// Prediction on image files with a model and its card, the work of `segcore predict`:
//
//   raw image (read_image, card.image_channels) -> f32 0..255 -> card.preprocessing (normally
//   normalize) -> (1, C, H', W') on the device -> infer_probabilities -> resized back bilinearly
//   to the image's own size when the preprocessing changed it -> argmax -> class per pixel.
//
// predict_files writes, for every image <stem>.<ext>, into the output folder:
//   <stem>_index.png    class index per pixel (8-bit grey; 16-bit when there are > 256 classes)
//   <stem>_color.png    the classes' palette colours
//   <stem>_overlay.png  the image blended with the colours, with a legend of the classes present
//   <stem>_entropy.png  (entropy on) normalised per-pixel entropy as a heat map: bright = unsure
//   <stem>_error.png    (masks_dir set and a mask found) green = right, red = wrong, grey = ignored
//   <stem>_logits.npy   (save_logits) (K, H, W) f32 logits at the image's size, Prediction::logits
//   <stem>_probs.npy    (save_probs) (K, H, W) f32 class probabilities (softmax), Prediction::probs
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "data/image.h"
#include "data/transforms.h"
#include "seg/inference/infer.h"
#include "seg/inference/model_card.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct Prediction {
    data::Mask labels;  // class per pixel at the input image's size
    Tensor probs;       // (1, K, H, W) f32 at the input image's size, on the predictor's device
    Tensor logits;      // (1, K, H, W) f32 likewise, only when asked for (predict_input with_logits)
};

// Holds the model, its card and the compiled preprocessing. The model is put in eval mode and must
// already be on `device`.
class Predictor {
public:
    Predictor(SegModel& model, ModelCard card, InferOptions opt, Device device = Device::cpu());
    // An 8-bit image as read_image returns it (card.image_channels channels); `name` for errors.
    Prediction predict(const data::Image& image, const std::string& name = "image") const;

    // The two halves of predict, for the embedding runtime (seg/runtime/): the image through the
    // card's preprocessing as a (1, C, H', W') f32 tensor on the device ...
    Tensor prepare(const data::Image& image, const std::string& name = "image") const;
    // ... and inference on such a tensor, probabilities (and logits when asked for) resized back
    // bilinearly to (out_h, out_w) when that differs, labels their argmax. Logits exist only for
    // one-variant options (no flip / multi-scale TTA, whose result is an average of probabilities):
    // asking for them otherwise is an error. predict(image) == predict_input(prepare(image), H, W).
    // Safe to call from several threads at once: it reads the model and writes only its results.
    Prediction predict_input(const Tensor& input, int64_t out_h, int64_t out_w, const std::string& name = "image",
                             bool with_logits = false) const;
    const ModelCard& card() const { return card_; }
    const InferOptions& options() const { return opt_; }

private:
    SegModel& model_;
    ModelCard card_;
    InferOptions opt_;
    Device device_;
    data::Compose pipeline_;
};

// The image files named by `inputs`: an image file as is; a .txt file lists one image path per line
// (blank lines and lines starting with '#' skipped; relative paths resolve against the list's
// folder, else the working directory); a folder contributes the .png/.jpg/.jpeg/.bmp files directly
// inside it, sorted by name (every image-named entry, also a dangling symlink or a symlink loop, so
// that predicting it reports it by name). Errors name the missing input, list or line.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

// The ground-truth mask of image `stem` in `dir`: <stem>.png, else <stem>_L.png (CamVid); "" when
// neither exists.
std::string find_truth_mask(const std::string& dir, const std::string& stem);

// A ground-truth mask as labels: index/palette/grey PNGs as stored, every label a class index or the
// ignore index (else an error naming the file and the values: the rule of eval and train); colour
// masks mapped through the card's palette (colours not in it -> ignore_index).
data::Mask read_truth_mask(const std::string& path, const ModelCard& card);

struct PredictOptions {
    std::string out_dir = "predictions";
    bool entropy = false;
    std::string masks_dir;  // empty: no error maps
    double alpha = 0.5;     // overlay opacity of the class colours
    // .npy files (data/npy.h) for post-processing in Python. Logits exist only for one-variant
    // inference options (no flip / multi-scale TTA): save_logits with others is an error before
    // any image is predicted.
    bool save_logits = false;
    bool save_probs = false;
    // false: the first image that cannot be read or predicted (unreadable, too small for the
    // model, a bad ground-truth mask) stops the run with an error naming it. true: it is reported
    // (PredictedFile::error) and the run goes on with the next image.
    bool skip_bad = false;
};

struct PredictedFile {
    std::string image, stem;
    std::vector<std::string> outputs;  // paths written
    std::string truth;                 // the ground-truth mask used ("" when none)
    double pixel_accuracy = std::numeric_limits<double>::quiet_NaN();
    int64_t correct = 0, counted = 0;  // pixels right / not ignored (with a truth mask)
    std::string error;                 // skip_bad: why this image was skipped ("" when predicted)
};

// Predicts every image and writes the files above; `on_file` (optional) is called after each image.
// Two inputs with the same stem would overwrite each other's outputs: an error naming both.
std::vector<PredictedFile> predict_files(const Predictor& predictor, const std::vector<std::string>& images,
                                         const PredictOptions& opt,
                                         const std::function<void(const PredictedFile&)>& on_file = {});

}  // namespace segcore::seg
