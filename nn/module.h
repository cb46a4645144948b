#pragma once
// Module: the base of every layer and model. Like torch.nn.Module, it owns named parameters
// (Variables that require grad), buffers (Variables that do not: BN running statistics) and child
// modules, and names them with dotted paths: "backbone.layer1.0.conv1.weight". Those names are
// the keys of state_dict(), so weights move between segcore and PyTorch by name.
//
// Parameters and buffers are Variable handles: a module, its optimiser and a data-parallel
// wrapper all see the same tensors, and to(device) swaps the value inside every handle at once.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::nn {

using autograd::Variable;

// What load_state_dict found, key by key.
struct LoadReport {
    std::vector<std::string> missing;     // in the module, not in the file
    std::vector<std::string> unexpected;  // in the file, not in the module
    struct Mismatch {
        std::string key;
        Shape expected, found;
    };
    std::vector<Mismatch> shape_mismatched;  // present in both with different shapes (not loaded)
    struct DTypeMismatch {
        std::string key;
        DType expected, found;
    };
    std::vector<DTypeMismatch> dtype_mismatched;  // a dtype that does not convert safely (not loaded)
    std::vector<std::string> loaded;

    bool clean() const {
        return missing.empty() && unexpected.empty() && shape_mismatched.empty() && dtype_mismatched.empty();
    }
    std::string str() const;  // a readable summary, one line per problem
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;

// Sees every module call made through Module::operator() on this thread while installed (model
// summaries, profilers). Modules call their children through operator(), never forward()
// directly, so nested layers are seen too; on_exit runs after the child's own children.
class ModuleCallObserver {
public:
    virtual ~ModuleCallObserver() = default;
    virtual void on_enter(Module&, const Variable& /*input*/) {}
    virtual void on_exit(Module& m, const Variable& input, const Variable& output) = 0;
};

// Installs an observer for the current thread for the guard's lifetime (restores the previous one).
class ObserveModuleCalls {
public:
    explicit ObserveModuleCalls(ModuleCallObserver* obs);
    ~ObserveModuleCalls();
    ObserveModuleCalls(const ObserveModuleCalls&) = delete;
    ObserveModuleCalls& operator=(const ObserveModuleCalls&) = delete;

private:
    ModuleCallObserver* prev_;
};

class Module {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // The single-input forward most layers have; modules with other signatures define their own
    // forward and leave this one throwing.
    virtual Variable forward(const Variable& x);
    // forward(x), reported to the thread's ModuleCallObserver when one is installed.
    Variable operator()(const Variable& x);

    const std::string& type_name() const { return type_name_; }

    // ---- traversal (registration order, like PyTorch) ----
    std::vector<std::pair<std::string, Variable>> named_parameters(bool recurse = true) const;
    std::vector<Variable> parameters(bool recurse = true) const;
    std::vector<std::pair<std::string, Variable>> named_buffers(bool recurse = true) const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
    // This module ("" or prefix) and every descendant, depth first.
    std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");
    void apply(const std::function<void(Module&)>& fn);  // children first, then this module

    // ---- mode, placement ----
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void to(Device device);
    void to(DType dtype);  // floating parameters and buffers only (integer buffers keep their dtype)
    void zero_grad(bool set_to_none = true);
    // Number of parameter elements (trainable_only: those with requires_grad).
    int64_t num_parameters(bool trainable_only = false) const;

    // ---- state ----
    // Parameters and persistent buffers by dotted name; values share storage with the module.
    NamedTensors state_dict() const;
    // Copies values in (converting device as needed). A value's dtype must be the tensor's, or
    // both must be floating (F16/BF16/F32/F64 convert into one another); an integer value never
    // loads into a float weight or the other way round (load_dtype_ok). strict: any missing,
    // unexpected, shape- or dtype-mismatched key is an error listing all of them, and nothing is
    // loaded. Non-strict: loads the keys that match and reports the rest.
    // Whatever `strict` says, a NaN or infinity in a value that would be loaded is an error naming
    // the tensor (nothing is loaded) unless allow_nonfinite: a model with non-finite weights only
    // produces garbage, and a checkpoint holding them cannot be resumed usefully.
    LoadReport load_state_dict(const NamedTensors& state, bool strict = true, bool allow_nonfinite = false);

    // PyTorch-style tree: "Sequential(\n  (0): Linear(in_features=3, out_features=5, bias=True)\n ...)".
    std::string str() const;
    virtual std::string extra_repr() const { return ""; }

protected:
    Variable register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
    Variable register_buffer(const std::string& name, Tensor value, bool persistent = true);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }

private:
    void add_child(const std::string& name, std::shared_ptr<Module> module);
    void check_new_name(const std::string& name) const;
    void str_into(std::string& out, int indent) const;

    std::string type_name_;
    bool training_ = true;
    std::vector<std::pair<std::string, Variable>> params_;
    struct Buffer {
        std::string name;
        Variable value;
        bool persistent;
    };
    std::vector<Buffer> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module's state_dict as a safetensors file (atomic write), with string metadata.
void save_module(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata = {});
// Loads a safetensors file into a module (load_state_dict's rules); errors name the file.
LoadReport load_module(Module& m, const std::string& path, bool strict = true, bool allow_nonfinite = false);

// Whether a `found` value may load into a `expected` tensor: the same dtype, or both floating.
bool load_dtype_ok(DType expected, DType found);
// "tensor 'x' holds a non-finite value: element 3 of 8 = nan" for the first tensor of `state`
// with a NaN or infinity, or "" when all are finite.
std::string find_nonfinite(const NamedTensors& state);

}  // namespace segcore::nn
