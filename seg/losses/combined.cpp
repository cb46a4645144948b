// CombinedLoss (seg/losses/combined.h): strict JSON parsing and the weighted sum.
#include "seg/losses/combined.h"

#include <cmath>
#include <set>
#include <sstream>

#include "core/error.h"

namespace segcore::seg {

namespace {

using json = nlohmann::json;
using Type = CombinedLoss::Type;

const std::vector<std::pair<Type, const char*>>& type_table() {
    static const std::vector<std::pair<Type, const char*>> t = {
        {Type::CrossEntropy, "cross_entropy"}, {Type::Focal, "focal"},
        {Type::Ohem, "ohem"},                  {Type::Kd, "kd"},
        {Type::Dice, "dice"},                  {Type::GeneralizedDice, "generalized_dice"},
        {Type::Tversky, "tversky"},            {Type::Lovasz, "lovasz"},
    };
    return t;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
}

// The keys a term of type t accepts besides type, weight and name.
std::vector<std::string> option_keys(Type t) {
    switch (t) {
        case Type::CrossEntropy: return {"ignore_index", "label_smoothing", "class_weights"};
        case Type::Focal: return {"ignore_index", "gamma", "alpha"};
        case Type::Ohem: return {"ignore_index", "thresh", "min_kept", "class_weights"};
        case Type::Kd: return {"ignore_index", "temperature"};
        case Type::Dice: return {"ignore_index", "smooth", "include_background", "classes"};
        case Type::GeneralizedDice: return {"ignore_index", "smooth", "include_background", "classes", "weight_clamp"};
        case Type::Tversky: return {"ignore_index", "smooth", "include_background", "classes", "alpha", "beta"};
        case Type::Lovasz: return {"ignore_index", "include_background", "classes"};
    }
    return {};
}

void check_keys(const json& obj, const std::string& path, const std::vector<std::string>& allowed,
                const std::string& what) {
    for (const auto& [k, v] : obj.items()) {
        bool ok = false;
        for (const std::string& a : allowed) ok = ok || a == k;
        SEGCORE_CHECK(ok, path, ": unknown key \"", k, "\"", what, " (allowed: ", join(allowed), ")");
    }
}

double number(const json& obj, const char* key, const std::string& path) {
    const json& v = obj.at(key);
    SEGCORE_CHECK(v.is_number(), path, ".", key, ": expected a number, got ", v.dump());
    const double d = v.get<double>();
    SEGCORE_CHECK(std::isfinite(d), path, ".", key, ": expected a finite number, got ", v.dump());
    return d;
}

int64_t integer(const json& obj, const char* key, const std::string& path) {
    const json& v = obj.at(key);
    SEGCORE_CHECK(v.is_number_integer(), path, ".", key, ": expected an integer, got ", v.dump());
    return v.get<int64_t>();
}

bool boolean(const json& obj, const char* key, const std::string& path) {
    const json& v = obj.at(key);
    SEGCORE_CHECK(v.is_boolean(), path, ".", key, ": expected true or false, got ", v.dump());
    return v.get<bool>();
}

std::vector<double> numbers(const json& v, const std::string& where) {
    SEGCORE_CHECK(v.is_array() && !v.empty(), where, ": expected a non-empty array of numbers, got ", v.dump());
    std::vector<double> out;
    for (size_t i = 0; i < v.size(); ++i) {
        SEGCORE_CHECK(v[i].is_number() && std::isfinite(v[i].get<double>()), where, "[", i,
                      "]: expected a finite number, got ", v[i].dump());
        out.push_back(v[i].get<double>());
    }
    return out;
}

// "classes": "present" | "all" -> present_only.
bool classes_present(const json& obj, const std::string& path, bool dflt) {
    if (!obj.contains("classes")) return dflt;
    const json& v = obj.at("classes");
    SEGCORE_CHECK(v.is_string() && (v == "present" || v == "all"), path, ".classes: expected \"present\" or \"all\", got ",
                  v.dump());
    return v == "present";
}

void check_range(bool ok, const std::string& path, const char* key, double v, const char* expect) {
    SEGCORE_CHECK(ok, path, ".", key, ": expected ", expect, ", got ", v);
}

CombinedLoss::Term parse_term(const json& t, const std::string& path, const json* default_ignore) {
    SEGCORE_CHECK(t.is_object(), path, ": expected an object {\"type\": ..., \"weight\": ...}, got ", t.dump());
    SEGCORE_CHECK(t.contains("type"), path, ": missing \"type\" (one of: ", join(CombinedLoss::type_names()), ")");
    const json& tj = t.at("type");
    SEGCORE_CHECK(tj.is_string(), path, ".type: expected a string, got ", tj.dump());
    const std::string tname = tj.get<std::string>();
    CombinedLoss::Term term{};
    bool found = false;
    for (const auto& [ty, n] : type_table())
        if (tname == n) {
            term.type = ty;
            found = true;
        }
    SEGCORE_CHECK(found, path, ".type: unknown loss type \"", tname, "\" (allowed: ", join(CombinedLoss::type_names()),
                  ")");
    std::vector<std::string> allowed = {"type", "weight", "name"};
    for (const std::string& k : option_keys(term.type)) allowed.push_back(k);
    check_keys(t, path, allowed, std::string(" for a \"") + tname + "\" term");

    term.name = tname;
    if (t.contains("name")) {
        SEGCORE_CHECK(t.at("name").is_string() && !t.at("name").get<std::string>().empty(), path,
                      ".name: expected a non-empty string, got ", t.at("name").dump());
        term.name = t.at("name").get<std::string>();
    }
    if (t.contains("weight")) term.weight = number(t, "weight", path);
    int64_t ignore = 255;
    if (default_ignore) {
        SEGCORE_CHECK(default_ignore->is_number_integer(), path, ": the top-level ignore_index must be an integer");
        ignore = default_ignore->get<int64_t>();
    }
    if (t.contains("ignore_index")) ignore = integer(t, "ignore_index", path);

    switch (term.type) {
        case Type::CrossEntropy:
            term.ce.ignore_index = ignore;
            if (t.contains("label_smoothing")) {
                term.ce.label_smoothing = number(t, "label_smoothing", path);
                check_range(term.ce.label_smoothing >= 0 && term.ce.label_smoothing <= 1, path, "label_smoothing",
                            term.ce.label_smoothing, "a number in [0, 1]");
            }
            if (t.contains("class_weights")) term.class_vector = numbers(t.at("class_weights"), path + ".class_weights");
            break;
        case Type::Focal:
            term.focal.ignore_index = ignore;
            if (t.contains("gamma")) {
                term.focal.gamma = number(t, "gamma", path);
                check_range(term.focal.gamma >= 0, path, "gamma", term.focal.gamma, "a number >= 0");
            }
            if (t.contains("alpha")) {
                if (t.at("alpha").is_array()) term.class_vector = numbers(t.at("alpha"), path + ".alpha");
                else term.focal.alpha_scalar = number(t, "alpha", path);
            }
            break;
        case Type::Ohem:
            term.ohem.ignore_index = ignore;
            if (t.contains("thresh")) {
                term.ohem.thresh = number(t, "thresh", path);
                check_range(term.ohem.thresh > 0 && term.ohem.thresh <= 1, path, "thresh", term.ohem.thresh,
                            "a probability in (0, 1]");
            }
            if (t.contains("min_kept")) {
                term.ohem.min_kept = integer(t, "min_kept", path);
                check_range(term.ohem.min_kept >= 0, path, "min_kept", double(term.ohem.min_kept), "an integer >= 0");
            }
            if (t.contains("class_weights")) term.class_vector = numbers(t.at("class_weights"), path + ".class_weights");
            break;
        case Type::Kd:
            term.kd.ignore_index = ignore;
            if (t.contains("temperature")) {
                term.kd.temperature = number(t, "temperature", path);
                check_range(term.kd.temperature > 0, path, "temperature", term.kd.temperature, "a number > 0");
            }
            break;
        case Type::Dice:
        case Type::GeneralizedDice:
        case Type::Tversky: {
            ops::DiceLossOptions& o = term.dice;
            o.variant = term.type == Type::Dice              ? kernels::DiceVariant::Dice
                        : term.type == Type::GeneralizedDice ? kernels::DiceVariant::Generalized
                                                             : kernels::DiceVariant::Tversky;
            o.ignore_index = ignore;
            if (t.contains("smooth")) {
                o.smooth = number(t, "smooth", path);
                check_range(o.smooth >= 0, path, "smooth", o.smooth, "a number >= 0");
            }
            if (t.contains("include_background")) o.include_background = boolean(t, "include_background", path);
            o.present_only = classes_present(t, path, false);
            if (t.contains("weight_clamp")) {
                o.weight_clamp = number(t, "weight_clamp", path);
                check_range(o.weight_clamp > 0, path, "weight_clamp", o.weight_clamp, "a number > 0");
            }
            if (t.contains("alpha")) {
                o.alpha = number(t, "alpha", path);
                check_range(o.alpha >= 0, path, "alpha", o.alpha, "a number >= 0");
            }
            if (t.contains("beta")) {
                o.beta = number(t, "beta", path);
                check_range(o.beta >= 0, path, "beta", o.beta, "a number >= 0");
            }
            break;
        }
        case Type::Lovasz:
            term.lovasz.ignore_index = ignore;
            if (t.contains("include_background"))
                term.lovasz.include_background = boolean(t, "include_background", path);
            term.lovasz.present_only = classes_present(t, path, true);
            break;
    }
    return term;
}

// A (C) class vector in the loss dtype on the logits' device.
Tensor class_tensor(const CombinedLoss::Term& term, const Tensor& logits, const char* key) {
    const int64_t c = logits.size(1);
    SEGCORE_CHECK(int64_t(term.class_vector.size()) == c, "loss term '", term.name, "': ", key, " has ",
                  term.class_vector.size(), " values but the logits have ", c, " classes");
    const DType sd = logits.dtype() == DType::F64 ? DType::F64 : DType::F32;
    return from_vector<double>(term.class_vector, {c}).to(logits.device(), sd);
}

}  // namespace

const char* CombinedLoss::type_name(Type t) {
    for (const auto& [ty, n] : type_table())
        if (ty == t) return n;
    return "?";
}

const std::vector<std::string>& CombinedLoss::type_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& [ty, n] : type_table()) v.emplace_back(n);
        return v;
    }();
    return names;
}

CombinedLoss CombinedLoss::from_json(const json& spec, const std::string& path) {
    SEGCORE_CHECK(spec.is_object(), path, ": expected an object {\"terms\": [...]}, got ", spec.dump());
    check_keys(spec, path, {"terms", "ignore_index"}, "");
    SEGCORE_CHECK(spec.contains("terms"), path, ": missing \"terms\" (a non-empty array of loss terms)");
    const json& terms = spec.at("terms");
    SEGCORE_CHECK(terms.is_array() && !terms.empty(), path, ".terms: expected a non-empty array, got ", terms.dump());
    const json* dflt = spec.contains("ignore_index") ? &spec.at("ignore_index") : nullptr;
    if (dflt)
        SEGCORE_CHECK(dflt->is_number_integer(), path, ".ignore_index: expected an integer, got ", dflt->dump());
    CombinedLoss loss;
    for (size_t i = 0; i < terms.size(); ++i) {
        const std::string tp = path + ".terms[" + std::to_string(i) + "]";
        Term term = parse_term(terms[i], tp, dflt);
        for (const Term& other : loss.terms_)
            SEGCORE_CHECK(other.name != term.name, tp, ": a second term named \"", term.name,
                          "\" (give one a distinct \"name\")");
        loss.terms_.push_back(std::move(term));
    }
    return loss;
}

CombinedLoss& CombinedLoss::add(Term term) {
    if (term.name.empty()) term.name = type_name(term.type);
    for (const Term& other : terms_)
        SEGCORE_CHECK(other.name != term.name, "CombinedLoss: a second term named \"", term.name, "\"");
    terms_.push_back(std::move(term));
    return *this;
}

CombinedLossOutput CombinedLoss::operator()(const autograd::Variable& logits, const Tensor& labels,
                                            const Tensor& teacher) const {
    namespace F = autograd;
    SEGCORE_CHECK(!terms_.empty(), "CombinedLoss: no terms (build it with from_json or add)");
    CombinedLossOutput out;
    for (const Term& term : terms_) {
        F::Variable v;
        switch (term.type) {
            case Type::CrossEntropy: {
                ops::CrossEntropyOptions o = term.ce;
                if (!term.class_vector.empty()) o.weight = class_tensor(term, logits.data(), "class_weights");
                v = F::cross_entropy(logits, labels, o);
                break;
            }
            case Type::Focal: {
                ops::FocalLossOptions o = term.focal;
                if (!term.class_vector.empty()) o.alpha = class_tensor(term, logits.data(), "alpha");
                v = F::focal_loss(logits, labels, o);
                break;
            }
            case Type::Ohem: {
                ops::OhemOptions o = term.ohem;
                if (!term.class_vector.empty()) o.weight = class_tensor(term, logits.data(), "class_weights");
                v = F::ohem_cross_entropy(logits, labels, o);
                break;
            }
            case Type::Kd:
                SEGCORE_CHECK(teacher.defined(), "loss term '", term.name,
                              "' (kd) needs the teacher's logits: call the loss with (logits, labels, teacher)");
                v = F::kd_loss(logits, teacher, labels, term.kd);
                break;
            case Type::Dice:
            case Type::GeneralizedDice:
            case Type::Tversky: v = F::dice_loss(logits, labels, term.dice); break;
            case Type::Lovasz: v = F::lovasz_softmax(logits, labels, term.lovasz); break;
        }
        const F::Variable weighted = term.weight == 1.0 ? v : F::mul(v, term.weight);
        out.loss = out.loss.defined() ? F::add(out.loss, weighted) : weighted;
        out.terms.push_back({term.name, term.weight, v});
    }
    return out;
}

std::vector<std::pair<std::string, double>> CombinedLossOutput::breakdown() const {
    std::vector<std::pair<std::string, double>> r;
    for (const LossTermValue& t : terms) r.emplace_back(t.name, t.value.data().item_double());
    r.emplace_back("total", loss.data().item_double());
    return r;
}

std::string CombinedLoss::str() const {
    std::ostringstream s;
    for (size_t i = 0; i < terms_.size(); ++i) s << (i ? " + " : "") << terms_[i].weight << "*" << terms_[i].name;
    return s.str();
}

}  // namespace segcore::seg
