#include "nn/module.h"

#include <set>
#include <sstream>

#include "core/error.h"
#include "core/nonfinite.h"
#include "core/safetensors.h"

namespace segcore::nn {

std::string LoadReport::str() const {
    std::ostringstream os;
    for (const auto& k : missing) os << "  missing key: " << k << "\n";
    for (const auto& k : unexpected) os << "  unexpected key: " << k << "\n";
    for (const auto& m : shape_mismatched)
        os << "  shape mismatch for " << m.key << ": the module has " << shape_str(m.expected) << ", the state has "
           << shape_str(m.found) << "\n";
    for (const auto& m : dtype_mismatched)
        os << "  dtype mismatch for " << m.key << ": the module has " << dtype_name(m.expected) << ", the state has "
           << dtype_name(m.found) << " (only floating dtypes convert into one another)\n";
    return os.str();
}

namespace {
thread_local ModuleCallObserver* t_observer = nullptr;
}

ObserveModuleCalls::ObserveModuleCalls(ModuleCallObserver* obs) : prev_(t_observer) { t_observer = obs; }
ObserveModuleCalls::~ObserveModuleCalls() { t_observer = prev_; }

Variable Module::operator()(const Variable& x) {
    ModuleCallObserver* obs = t_observer;
    if (!obs) return forward(x);
    obs->on_enter(*this, x);
    Variable y = forward(x);
    obs->on_exit(*this, x, y);
    return y;
}

Variable Module::forward(const Variable&) {
    SEGCORE_THROW(type_name_, " has no single-input forward(); call its own forward method");
}

void Module::check_new_name(const std::string& name) const {
    SEGCORE_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_,
                  ": a parameter, buffer or child name must be non-empty and contain no '.', got '", name, "'");
    for (const auto& [n, v] : params_) SEGCORE_CHECK(n != name, type_name_, ": '", name, "' is already a parameter");
    for (const auto& b : buffers_) SEGCORE_CHECK(b.name != name, type_name_, ": '", name, "' is already a buffer");
    for (const auto& [n, c] : children_) SEGCORE_CHECK(n != name, type_name_, ": '", name, "' is already a child module");
}

Variable Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
    check_new_name(name);
    Variable v(std::move(value), requires_grad);
    v.set_name(name);
    params_.emplace_back(name, v);
    return v;
}

Variable Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
    check_new_name(name);
    Variable v(std::move(value), false);
    v.set_name(name);
    buffers_.push_back({name, v, persistent});
    return v;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    SEGCORE_CHECK(module != nullptr, type_name_, ": child '", name, "' is null");
    check_new_name(name);
    children_.emplace_back(name, std::move(module));
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters(bool recurse) const {
    std::vector<std::pair<std::string, Variable>> out(params_.begin(), params_.end());
    if (recurse)
        for (const auto& [cname, child] : children_)
            for (auto& [n, v] : child->named_parameters(true)) out.emplace_back(cname + "." + n, v);
    return out;
}

std::vector<Variable> Module::parameters(bool recurse) const {
    std::vector<Variable> out;
    for (auto& [n, v] : named_parameters(recurse)) out.push_back(v);
    return out;
}

std::vector<std::pair<std::string, Variable>> Module::named_buffers(bool recurse) const {
    std::vector<std::pair<std::string, Variable>> out;
    for (const Buffer& b : buffers_) out.emplace_back(b.name, b.value);
    if (recurse)
        for (const auto& [cname, child] : children_)
            for (auto& [n, v] : child->named_buffers(true)) out.emplace_back(cname + "." + n, v);
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
    std::vector<std::pair<std::string, Module*>> out{{prefix, this}};
    for (auto& [cname, child] : children_)
        for (auto& entry : child->named_modules(prefix.empty() ? cname : prefix + "." + cname)) out.push_back(entry);
    return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
    for (auto& [n, child] : children_) child->apply(fn);
    fn(*this);
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [n, child] : children_) child->train(on);
}

void Module::to(Device device) {
    for (auto& [n, v] : named_parameters()) v.set_data(v.data().to(device));
    for (auto& [n, v] : named_buffers()) v.set_data(v.data().to(device));
}

void Module::to(DType dtype) {
    SEGCORE_CHECK(is_floating(dtype), type_name_, ".to(dtype): the target must be a floating dtype, got ",
                  dtype_name(dtype));
    for (auto& [n, v] : named_parameters())
        if (is_floating(v.dtype())) v.set_data(v.data().to(dtype));
    for (auto& [n, v] : named_buffers())
        if (is_floating(v.dtype())) v.set_data(v.data().to(dtype));
}

void Module::zero_grad(bool set_to_none) {
    for (auto& v : parameters()) v.zero_grad(set_to_none);
}

int64_t Module::num_parameters(bool trainable_only) const {
    int64_t n = 0;
    for (const auto& v : parameters())
        if (!trainable_only || v.requires_grad()) n += v.numel();
    return n;
}

NamedTensors Module::state_dict() const {
    // PyTorch's order: each module's parameters, then its persistent buffers, then its children.
    NamedTensors out;
    std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
        for (const auto& [n, v] : m.params_) out.emplace_back(prefix + n, v.data());
        for (const Buffer& b : m.buffers_)
            if (b.persistent) out.emplace_back(prefix + b.name, b.value.data());
        for (const auto& [cname, child] : m.children_) walk(*child, prefix + cname + ".");
    };
    walk(*this, "");
    return out;
}

bool load_dtype_ok(DType expected, DType found) {
    return expected == found || (is_floating(expected) && is_floating(found));
}

std::string find_nonfinite(const NamedTensors& state) {
    for (const auto& [key, t] : state)
        if (const int64_t i = first_nonfinite(t); i >= 0)
            return "tensor '" + key + "' holds a non-finite value: " + describe_element(t, i);
    return "";
}

LoadReport Module::load_state_dict(const NamedTensors& state, bool strict, bool allow_nonfinite) {
    std::map<std::string, Variable> own;
    for (auto& [n, v] : named_parameters()) own.emplace(n, v);
    std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
        for (const Buffer& b : m.buffers_)
            if (b.persistent) own.emplace(prefix + b.name, b.value);
        for (const auto& [cname, child] : m.children_) walk(*child, prefix + cname + ".");
    };
    walk(*this, "");

    LoadReport report;
    std::set<std::string> seen;
    std::vector<std::pair<Variable, const Tensor*>> to_load;
    for (const auto& [key, t] : state) {
        SEGCORE_CHECK(seen.insert(key).second, "load_state_dict: key '", key, "' appears twice");
        auto it = own.find(key);
        if (it == own.end()) {
            report.unexpected.push_back(key);
        } else if (it->second.shape() != t.shape()) {
            report.shape_mismatched.push_back({key, it->second.shape(), t.shape()});
        } else if (!load_dtype_ok(it->second.dtype(), t.dtype())) {
            report.dtype_mismatched.push_back({key, it->second.dtype(), t.dtype()});
        } else {
            to_load.emplace_back(it->second, &t);
            report.loaded.push_back(key);
        }
    }
    for (const auto& [key, v] : own)
        if (!seen.count(key)) report.missing.push_back(key);
    if (strict && !report.clean())
        SEGCORE_THROW("load_state_dict (strict) into ", type_name_, ": the state does not match the module:\n",
                      report.str(), "(nothing was loaded; pass strict=false to load the matching keys)");
    if (!allow_nonfinite) {
        const std::set<std::string> loading(report.loaded.begin(), report.loaded.end());
        NamedTensors values;  // only what would be loaded: a skipped key does no harm
        for (const auto& [key, t] : state)
            if (loading.count(key)) values.emplace_back(key, t);
        const std::string bad = find_nonfinite(values);
        SEGCORE_CHECK(bad.empty(), "load_state_dict into ", type_name_, ": ", bad,
                      "; refusing NaN/Inf weights (nothing was loaded; the segcore CLI loads them anyway with "
                      "--allow-nonfinite)");
    }
    for (auto& [v, t] : to_load) {
        Tensor dst = v.data();
        dst.copy_(*t);  // in place: same storage, dtype and device as before
    }
    return report;
}

void Module::str_into(std::string& out, int indent) const {
    out += type_name_ + "(";
    const std::string extra = extra_repr();
    if (children_.empty()) {
        out += extra + ")";
        return;
    }
    const std::string pad(size_t(indent + 2), ' ');
    if (!extra.empty()) out += "\n" + pad + extra;
    for (const auto& [n, child] : children_) {
        out += "\n" + pad + "(" + n + "): ";
        child->str_into(out, indent + 2);
    }
    out += "\n" + std::string(size_t(indent), ' ') + ")";
}

std::string Module::str() const {
    std::string out;
    str_into(out, 0);
    return out;
}

void save_module(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata) {
    save_safetensors(path, m.state_dict(), metadata);
}

LoadReport load_module(Module& m, const std::string& path, bool strict, bool allow_nonfinite) {
    const SafetensorsFile f = load_safetensors(path);
    try {
        return m.load_state_dict(f.tensors, strict, allow_nonfinite);
    } catch (const Error& e) {
        SEGCORE_THROW("loading ", path, ": ", e.message());
    }
}

}  // namespace segcore::nn
