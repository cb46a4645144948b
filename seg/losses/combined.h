#pragma once
// A weighted sum of segmentation losses built from a JSON spec (docs/losses.md):
//
//   {"ignore_index": 255,                      (optional: the default of every term)
//    "terms": [{"type": "cross_entropy", "weight": 1.0, "label_smoothing": 0.1},
//              {"type": "dice", "weight": 0.5, "classes": "present"}]}
//
//   loss = sum_i weight_i * term_i(logits, labels)
//
// Types: cross_entropy, focal, ohem, kd (kernels/loss/cross_entropy.h, ohem_cross_entropy.h,
// kd_loss.h) and dice, generalized_dice, tversky, lovasz (kernels/loss/dice.h, lovasz.h). Every
// term takes "type", "weight" (default 1), "name" (default: the type; names must be unique) and
// its own options; an unknown key, an unknown type or a wrong value type is an error naming the
// JSON path ("loss.terms[1].gama") and listing what is allowed. "kd" needs teacher logits at call
// time. The output carries the total (a differentiable scalar) and each term's unweighted value
// for logging.
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/variable.h"

namespace segcore::seg {

struct LossTermValue {
    std::string name;
    double weight = 1.0;
    autograd::Variable value;  // the unweighted term (a scalar on the logits' device)
};

struct CombinedLossOutput {
    autograd::Variable loss;  // sum of weight * value
    std::vector<LossTermValue> terms;
    // {name, value} as doubles, plus {"total", loss} last (reads the scalars back: a sync on CUDA).
    std::vector<std::pair<std::string, double>> breakdown() const;
};

class CombinedLoss {
public:
    enum class Type { CrossEntropy, Focal, Ohem, Kd, Dice, GeneralizedDice, Tversky, Lovasz };

    struct Term {
        Type type;
        std::string name;
        double weight = 1.0;
        // Options of the term's type; class-vector options (cross_entropy/ohem "class_weights",
        // focal "alpha" as an array) are kept as numbers and become tensors on the logits' device.
        ops::CrossEntropyOptions ce;
        ops::FocalLossOptions focal;
        ops::OhemOptions ohem;
        ops::KdLossOptions kd;
        ops::DiceLossOptions dice;
        ops::LovaszOptions lovasz;
        std::vector<double> class_vector;
    };

    CombinedLoss() = default;
    // `path` names the spec in error messages (e.g. "loss" inside a model config).
    static CombinedLoss from_json(const nlohmann::json& spec, const std::string& path = "loss");
    // One term, programmatically (no JSON).
    CombinedLoss& add(Term term);

    // logits (N, C, H, W), labels (N, H, W); teacher logits only for "kd" terms.
    CombinedLossOutput operator()(const autograd::Variable& logits, const Tensor& labels,
                                  const Tensor& teacher = {}) const;

    const std::vector<Term>& terms() const { return terms_; }
    std::string str() const;  // "1*cross_entropy + 0.5*dice"

    static const char* type_name(Type t);
    static const std::vector<std::string>& type_names();

private:
    std::vector<Term> terms_;
};

}  // namespace segcore::seg
