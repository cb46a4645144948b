#pragma once
// Pictures of a prediction, for people: colour masks, overlays with a legend, entropy (how unsure
// the model is) and error maps. Pure CPU functions on data::Image / data::Mask; `segcore predict`
// writes them as PNGs (docs/inference.md shows what each looks like).
//
// Colours: class c is palette[c]; a label outside the palette (the ignore index, or a class the
// palette does not cover) is black in colour masks and left as the image in overlays.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/image.h"
#include "data/image_io.h"

namespace segcore::seg {

using Rgb = std::array<uint8_t, 3>;

// num_classes distinct colours, the same every time: hues stepped by the golden angle (so
// neighbouring class indices get far-apart hues), with saturation and value alternating over three
// levels so that classes 1/phi of a turn apart stay distinguishable too. Never black (black means
// "ignored").
data::Palette default_palette(int64_t num_classes);

// Index mask -> RGB image through the palette (out-of-palette labels: black).
data::Image colorize_mask(const data::Mask& mask, const data::Palette& palette);

// An 8-bit image as RGB (grey replicated, alpha dropped), for drawing on.
data::Image to_rgb(const data::Image& image);

// out = (1 - alpha) image + alpha colour(mask), per pixel; pixels with an out-of-palette label keep
// the image. image: 1, 3 or 4 channels, the mask's size; alpha in [0, 1].
data::Image overlay_mask(const data::Image& image, const data::Mask& mask, const data::Palette& palette,
                         double alpha = 0.5);

// ---- legend ----

struct LegendEntry {
    Rgb colour;
    std::string label;
};

// One entry per class present in `mask`, in class order, named by `classes` (an index for classes
// without a name).
std::vector<LegendEntry> legend_entries(const data::Mask& mask, const std::vector<std::string>& classes,
                                        const data::Palette& palette);

// The image with a white panel on its right listing the entries (a colour swatch, then the label
// in the built-in 5x7 font). The result is wider than the image, and taller when the list does
// not fit beside it (the area below the image is white). Text is scaled with the image (x1 up to
// 256 rows, x2 up to 512, ...). No entries: the image unchanged (as RGB).
data::Image add_legend(const data::Image& image, const std::vector<LegendEntry>& entries);

// overlay_mask + add_legend for the classes present: what `segcore predict` writes as _overlay.png.
data::Image overlay_with_legend(const data::Image& image, const data::Mask& mask,
                                const std::vector<std::string>& classes, const data::Palette& palette,
                                double alpha = 0.5);

// ---- text (the built-in bitmap font) ----

inline constexpr int kGlyphWidth = 5, kGlyphHeight = 7, kGlyphAdvance = 6;  // pixels at scale 1

// Draws printable ASCII (other bytes as '?') with its top-left corner at (x, y), each font pixel a
// scale x scale square; parts outside the image are clipped.
void draw_text(data::Image& rgb, int64_t x, int64_t y, const std::string& text, Rgb colour, int scale = 1);
int64_t text_width(const std::string& text, int scale = 1);  // advance of the whole string
// The 7 rows of a glyph, bit 4 = leftmost column (for tests).
std::array<uint8_t, kGlyphHeight> glyph_rows(char c);

// ---- uncertainty and errors ----

// Per-pixel entropy of the class probabilities normalised by log K: 0 = one class is certain,
// 1 = all K classes equally likely. probs: (K, H, W) or (1, K, H, W), any device/float dtype
// (copied to the host). K == 1 gives 0 everywhere. Returns a 1-channel FloatImage in [0, 1].
data::FloatImage entropy_map(const Tensor& probs);

// Values in [0, 1] (1-channel FloatImage) -> RGB through an inferno-like heat scale (0 black-purple,
// 1 pale yellow); values outside are clamped.
data::Image heat_colormap(const data::FloatImage& values);

// Error map: pixels whose ground truth is ignore_index are flat grey (128); correct pixels are the
// image dimmed and tinted green (without an image: green); wrong pixels are pure red (255, 0, 0).
// image may be empty; otherwise it must have the masks' size. pred and truth must have one size.
data::Image error_map(const data::Image& image, const data::Mask& pred, const data::Mask& truth, int32_t ignore_index);

// Pixel accuracy of pred against truth over the non-ignored pixels (NaN when all are ignored).
double pixel_accuracy(const data::Mask& pred, const data::Mask& truth, int32_t ignore_index);

}  // namespace segcore::seg
