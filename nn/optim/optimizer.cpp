#include "nn/optim/optimizer.h"

#include <set>
#include <utility>

#include "core/error.h"

namespace segcore::nn {

namespace {

std::string group_key(size_t g, const char* field) { return "param_groups." + std::to_string(g) + "." + field; }
std::string state_key(size_t g, size_t i, const std::string& field) {
    return "state." + std::to_string(g) + "." + std::to_string(i) + "." + field;
}

// "parameter 3 of group 0 ('backbone.conv1.weight')"; the name only when there is one.
std::string describe(size_t g, size_t i, const autograd::Variable& p) {
    std::string s = "parameter " + std::to_string(i) + " of group " + std::to_string(g);
    if (!p.name().empty()) s += " ('" + p.name() + "')";
    return s;
}

}  // namespace

Optimizer::Optimizer(std::string type, ParamGroup defaults) : type_(std::move(type)), defaults_(std::move(defaults)) {
    defaults_.params.clear();
    // check_group is virtual: the derived constructor validates the defaults and adds the first group.
}

ParamGroup Optimizer::make_group(std::vector<autograd::Variable> params) const {
    ParamGroup g = defaults_;
    g.params = std::move(params);
    return g;
}

void Optimizer::add_param_group(ParamGroup group) {
    check_group(group);
    std::set<const autograd::VariableImpl*> seen;
    for (const ParamGroup& g : groups_)
        for (const autograd::Variable& p : g.params) seen.insert(p.unsafe_impl());
    for (size_t i = 0; i < group.params.size(); ++i) {
        const autograd::Variable& p = group.params[i];
        SEGCORE_CHECK(p.defined(), type_, ".add_param_group: parameter ", i, " is undefined");
        SEGCORE_CHECK(seen.insert(p.unsafe_impl()).second, type_, ".add_param_group: parameter ", i,
                      (p.name().empty() ? "" : " ('" + p.name() + "')"),
                      " already belongs to a group (a parameter may be in one group only)");
    }
    groups_.push_back(std::move(group));
    state_.emplace_back(groups_.back().params.size());
}

void Optimizer::zero_grad(bool set_to_none) {
    for (ParamGroup& g : groups_)
        for (autograd::Variable& p : g.params)
            if (p.grad().defined()) p.zero_grad(set_to_none);
}

void Optimizer::step_scaled(const Tensor& inv_scale, const Tensor& found_inf) {
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        const ParamGroup& g = groups_[gi];
        check_group(g);
        if (state_[gi].size() < g.params.size()) state_[gi].resize(g.params.size());  // params appended by hand
        const std::vector<std::string> names = buffer_names(g);
        ops::OptimStepArgs args;
        args.inv_scale = inv_scale;
        args.found_inf = found_inf;
        std::vector<std::vector<Tensor>> buffers(names.size());
        for (size_t i = 0; i < g.params.size(); ++i) {
            const autograd::Variable& p = g.params[i];
            const Tensor& grad = p.grad();
            if (!grad.defined()) continue;
            const Tensor& data = p.data();
            SEGCORE_CHECK(grad.shape() == data.shape(), type_, ".step: the grad of ", describe(gi, i, p), " has shape ",
                          shape_str(grad.shape()), ", expected the parameter's ", shape_str(data.shape()));
            SEGCORE_CHECK(data.is_contiguous(), type_, ".step: ", describe(gi, i, p),
                          " is not contiguous; the fused update writes it as flat memory");
            ParamState& st = state_[gi][i];
            if (!st.skipped.defined() || !(st.skipped.device() == data.device()))
                st.skipped = zeros({}, {DType::F32, data.device()});
            for (const std::string& n : names) {
                Tensor& b = st.buffers[n];
                if (!b.defined())
                    b = zeros(data.shape(), {data.dtype(), data.device()});
                else if (!(b.device() == data.device()))
                    b = b.to(data.device());  // the model moved (Module::to)
            }
            st.step += 1;
            args.params.push_back(data);
            args.grads.push_back(grad.is_contiguous() ? grad : grad.contiguous());
            args.steps.push_back(st.step);
            args.skipped.push_back(st.skipped);
            for (size_t k = 0; k < names.size(); ++k) buffers[k].push_back(st.buffers[names[k]]);
        }
        if (!args.params.empty()) update_group(g, args, buffers);
    }
}

int64_t Optimizer::param_step(size_t group, size_t index) const {
    SEGCORE_CHECK(group < state_.size() && index < state_[group].size(), type_, ": no parameter ", index, " in group ",
                  group);
    const ParamState& st = state_[group][index];
    if (st.step == 0) return 0;
    return st.step - int64_t(st.skipped.item<float>());
}

Tensor Optimizer::param_buffer(size_t group, size_t index, const std::string& name) const {
    SEGCORE_CHECK(group < state_.size() && index < state_[group].size(), type_, ": no parameter ", index, " in group ",
                  group);
    const auto it = state_[group][index].buffers.find(name);
    return it == state_[group][index].buffers.end() ? Tensor() : it->second;
}

StateDict Optimizer::state_dict() const {
    StateDict sd;
    sd.metadata["type"] = type_;
    sd.put_i64("num_param_groups", int64_t(groups_.size()));
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        const ParamGroup& g = groups_[gi];
        sd.put_i64(group_key(gi, "num_params"), int64_t(g.params.size()));
        sd.put_f64(group_key(gi, "lr"), g.lr);
        sd.put_f64(group_key(gi, "weight_decay"), g.weight_decay);
        sd.put_f64(group_key(gi, "momentum"), g.momentum);
        sd.put_f64(group_key(gi, "dampening"), g.dampening);
        sd.put_i64(group_key(gi, "nesterov"), g.nesterov ? 1 : 0);
        sd.put_f64(group_key(gi, "beta1"), g.beta1);
        sd.put_f64(group_key(gi, "beta2"), g.beta2);
        sd.put_f64(group_key(gi, "eps"), g.eps);
        sd.put_i64(group_key(gi, "amsgrad"), g.amsgrad ? 1 : 0);
        for (size_t i = 0; i < state_[gi].size() && i < g.params.size(); ++i) {
            const ParamState& st = state_[gi][i];
            if (st.step == 0) continue;
            sd.put_i64(state_key(gi, i, "step"), param_step(gi, i));
            for (const auto& [name, buf] : st.buffers) sd.tensors[state_key(gi, i, name)] = buf;
        }
    }
    return sd;
}

void Optimizer::load_state_dict(const StateDict& sd) {
    const std::string who = type_ + ".load_state_dict";
    const std::string& type = sd.meta("type", who);
    SEGCORE_CHECK(type == type_, who, ": the state dict was saved by ", type, ", not ", type_);
    const int64_t ngroups = sd.get_i64("num_param_groups", who);
    SEGCORE_CHECK(ngroups == int64_t(groups_.size()), who, ": the state dict has ", ngroups,
                  " parameter groups, this optimiser has ", groups_.size());
    // Validate everything before changing anything, so a bad file leaves the optimiser as it was.
    std::vector<std::vector<ParamState>> state(groups_.size());
    std::vector<ParamGroup> groups = groups_;
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        ParamGroup& g = groups[gi];
        const int64_t np = sd.get_i64(group_key(gi, "num_params"), who);
        SEGCORE_CHECK(np == int64_t(g.params.size()), who, ": group ", gi, " has ", np,
                      " parameters in the state dict, ", g.params.size(), " in this optimiser");
        g.lr = sd.get_f64(group_key(gi, "lr"), who);
        g.weight_decay = sd.get_f64(group_key(gi, "weight_decay"), who);
        g.momentum = sd.get_f64(group_key(gi, "momentum"), who);
        g.dampening = sd.get_f64(group_key(gi, "dampening"), who);
        g.nesterov = sd.get_i64(group_key(gi, "nesterov"), who) != 0;
        g.beta1 = sd.get_f64(group_key(gi, "beta1"), who);
        g.beta2 = sd.get_f64(group_key(gi, "beta2"), who);
        g.eps = sd.get_f64(group_key(gi, "eps"), who);
        g.amsgrad = sd.get_i64(group_key(gi, "amsgrad"), who) != 0;
        check_group(g);
        const std::vector<std::string> names = buffer_names(g);
        state[gi].resize(g.params.size());
        for (size_t i = 0; i < g.params.size(); ++i) {
            const std::string step_key = state_key(gi, i, "step");
            if (!sd.contains(step_key)) continue;
            const Tensor& data = g.params[i].data();
            ParamState& st = state[gi][i];
            st.step = sd.get_i64(step_key, who);
            SEGCORE_CHECK(st.step >= 0, who, ": ", step_key, " is negative (", st.step, ")");
            st.skipped = zeros({}, {DType::F32, data.device()});
            for (const std::string& n : names) {
                const std::string key = state_key(gi, i, n);
                const Tensor& t = sd.at(key, who);
                SEGCORE_CHECK(t.shape() == data.shape(), who, ": ", key, " has shape ", shape_str(t.shape()), ", but ",
                              describe(gi, i, g.params[i]), " has shape ", shape_str(data.shape()));
                SEGCORE_CHECK(t.dtype() == data.dtype(), who, ": ", key, " is ", dtype_name(t.dtype()),
                              ", the parameter is ", dtype_name(data.dtype()));
                Tensor copy = empty(data.shape(), {data.dtype(), data.device()});
                copy.copy_(t);
                st.buffers[n] = copy;
            }
        }
    }
    groups_ = std::move(groups);
    state_ = std::move(state);
}

}  // namespace segcore::nn
