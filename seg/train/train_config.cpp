#include "seg/train/train_config.h"

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "core/error.h"
#include "core/json_parse.h"
#include "core/json_reader.h"
#include "data/file_util.h"
#include "data/transforms.h"
#include "seg/inference/infer.h"
#include "seg/losses/combined.h"

namespace segcore::seg {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string resolve_path(const std::string& p, const std::string& base_dir) {
    if (p.empty()) return p;
    const fs::path path(p);
    return (path.is_absolute() ? path : fs::path(base_dir) / path).lexically_normal().string();
}

// A sub-object of `r` (absent: an empty object); errors name its path.
json section(JsonReader& r, const std::string& key) {
    const json* v = r.raw(key);
    if (!v) return json::object();
    SEGCORE_CHECK(v->is_object(), r.path_of(key), ": expected a JSON object {...}, got ", json_excerpt(*v));
    return *v;
}

std::vector<double> numbers(JsonReader& r, const std::string& key, std::vector<double> dflt) {
    const json* v = r.raw(key);
    if (!v) return dflt;
    SEGCORE_CHECK(v->is_array(), r.path_of(key), ": expected an array of numbers, got ", json_excerpt(*v));
    std::vector<double> out;
    for (const json& x : *v) {
        SEGCORE_CHECK(x.is_number(), r.path_of(key), ": expected an array of numbers, got ", json_excerpt(*v));
        out.push_back(x.get<double>());
    }
    return out;
}

data::SynthOptions parse_synth(const json& j, const std::string& path) {
    JsonReader r(j, path);
    data::SynthOptions o;
    o.train = r.integer("train", o.train, 1, 1000000);
    o.val = r.integer("val", o.val, 1, 1000000);
    o.height = r.integer("height", o.height, 8, 8192);
    o.width = r.integer("width", o.width, 8, 8192);
    o.classes = r.integer("classes", o.classes, 3, data::kSynthMaxClasses);
    o.seed = uint64_t(r.integer("seed", int64_t(o.seed), 0));
    o.min_shapes = r.integer("min_shapes", o.min_shapes, 0, 64);
    o.max_shapes = r.integer("max_shapes", o.max_shapes, 0, 64);
    o.noise_std = r.number("noise_std", o.noise_std, 0, 255);
    r.finish();
    SEGCORE_CHECK(o.min_shapes <= o.max_shapes, path, ": min_shapes (", o.min_shapes, ") must not exceed max_shapes (",
                  o.max_shapes, ")");
    return o;
}

json transforms_or(JsonReader& r, const std::string& key, json dflt) {
    const json* v = r.raw(key);
    json t = v ? *v : std::move(dflt);
    data::Compose::from_json(t, {}, r.path_of(key));  // validates now, not at the first batch
    return t;
}

void parse_data(TrainConfig& c, const json& j, const std::string& base_dir) {
    JsonReader r(j, "data");
    DataSection& d = c.data;
    d.dataset = resolve_path(r.required_string("dataset"), base_dir);
    d.root = r.string("root", "");
    if (!d.root.empty()) d.root = resolve_path(expand_env(d.root, "data.root"), base_dir);
    // null removes a synth section a base config set (--set data.synth=null).
    if (const json* s = r.raw("synth"); s && !s->is_null()) d.synth = parse_synth(*s, "data.synth");
    d.train_split = r.string("train_split", d.train_split);
    d.val_split = r.string("val_split", d.val_split);
    d.train_transforms = transforms_or(r, "train_transforms", json::array({{{"type", "hflip"}, {"p", 0.5}}, {{"type", "normalize"}}}));
    d.val_transforms = transforms_or(r, "val_transforms", json::array({{{"type", "normalize"}}}));
    d.workers = int(r.integer("workers", d.workers, 0, 256));
    d.skip_bad_samples = r.boolean("skip_bad_samples", d.skip_bad_samples);
    r.finish();
    SEGCORE_CHECK(d.synth || data::file_exists(d.dataset), "data.dataset: ", d.dataset,
                  ": no such file (write a dataset spec, see docs/datasets.md, or add data.synth to draw one)");
}

void parse_loss(TrainConfig& c, const json& j, const std::string& base_dir) {
    JsonReader r(j, "loss");
    LossSection& l = c.loss;
    l.combined = json::object();
    l.combined["terms"] = r.raw("terms") ? *r.raw("terms") : json::array({{{"type", "cross_entropy"}}});
    if (const json* ii = r.raw("ignore_index")) l.combined["ignore_index"] = *ii;
    CombinedLoss::from_json(l.combined, "loss");  // validates the terms now
    if (const json* aw = r.raw("aux_weight")) {
        if (aw->is_object()) {
            for (auto it = aw->begin(); it != aw->end(); ++it) {
                SEGCORE_CHECK(it->is_number() && it->get<double>() >= 0, "loss.aux_weight.", it.key(),
                              ": expected a number >= 0, got ", json_excerpt(*it));
                l.aux_weights[it.key()] = it->get<double>();
            }
        } else {
            SEGCORE_CHECK(aw->is_number() && aw->get<double>() >= 0,
                          "loss.aux_weight: expected a number >= 0 or an object {head: weight}, got ",
                          json_excerpt(*aw));
            l.aux_weight = aw->get<double>();
        }
    }
    const json cons = section(r, "consistency");
    if (!cons.empty()) {
        JsonReader cr(cons, "loss.consistency");
        l.consistency_weight = cr.number("weight", 0.1, 0);
        l.consistency_strength = cr.number("strength", l.consistency_strength, 0, 1);
        cr.finish();
    }
    l.teacher = resolve_path(r.string("teacher", ""), base_dir);
    r.finish();
    bool has_kd = false;
    for (const json& t : l.combined["terms"]) has_kd |= t.value("type", "") == "kd";
    SEGCORE_CHECK(has_kd == !l.teacher.empty(), has_kd ? "loss.teacher: a \"kd\" term needs a teacher model file"
                                                       : "loss.teacher: set, but no loss term is of type \"kd\"");
    SEGCORE_CHECK(l.teacher.empty() || data::file_exists(l.teacher), "loss.teacher: ", l.teacher, ": no such file");
}

void parse_optimizer(TrainConfig& c, const json& j) {
    JsonReader r(j, "optimizer");
    OptimizerSection& o = c.optimizer;
    o.type = r.string("type", o.type, {"sgd", "adam", "adamw"});
    o.lr = r.number("lr", o.lr, 0);
    o.weight_decay = r.number("weight_decay", o.type == "adamw" ? 0.01 : 0.0, 0);
    o.momentum = r.number("momentum", o.type == "sgd" ? 0.9 : 0.0, 0, 1);
    o.nesterov = r.boolean("nesterov", o.nesterov);
    const std::vector<double> betas = numbers(r, "betas", {o.beta1, o.beta2});
    SEGCORE_CHECK(betas.size() == 2 && betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1,
                  "optimizer.betas: expected two numbers in [0, 1)");
    o.beta1 = betas[0];
    o.beta2 = betas[1];
    o.eps = r.number("eps", o.eps, 0);
    o.amsgrad = r.boolean("amsgrad", o.amsgrad);
    if (const json* g = r.raw("groups")) {
        SEGCORE_CHECK(g->is_array(), "optimizer.groups: expected an array of {match, lr_mult, weight_decay}");
        for (size_t i = 0; i < g->size(); ++i) {
            const std::string path = "optimizer.groups[" + std::to_string(i) + "]";
            JsonReader gr((*g)[i], path);
            GroupRule rule;
            rule.match = gr.required_string("match");
            try {
                std::regex re(rule.match);
            } catch (const std::regex_error& e) {
                SEGCORE_THROW(path, ".match: not a valid regular expression: ", rule.match, " (", e.what(), ")");
            }
            rule.lr_mult = gr.number("lr_mult", 1.0, 0);
            if (gr.has("weight_decay")) rule.weight_decay = gr.number("weight_decay", 0, 0);
            gr.finish();
            o.groups.push_back(rule);
        }
    }
    r.finish();
    SEGCORE_CHECK(!o.nesterov || o.type == "sgd", "optimizer.nesterov: only for type \"sgd\"");
}

void parse_scheduler(TrainConfig& c, const json& j) {
    JsonReader r(j, "scheduler");
    SchedulerSection& s = c.scheduler;
    s.type = r.string("type", s.type, {"poly", "cosine", "step", "multistep", "constant"});
    s.power = r.number("power", s.power, 0);
    s.min_lr = r.number("min_lr", s.min_lr, 0);
    s.gamma = r.number("gamma", s.gamma, 0);
    s.step_size = r.integer("step_size", 0, 0);
    s.milestones = r.integers("milestones", {}, 0);
    const json w = section(r, "warmup");
    if (!w.empty()) {
        JsonReader wr(w, "scheduler.warmup");
        s.warmup.iters = wr.integer("iters", 0, 0);
        const std::string kind = wr.string("type", "linear", {"none", "linear", "exponential"});
        s.warmup.kind = s.warmup.iters == 0 || kind == "none" ? nn::WarmupKind::None
                        : kind == "linear"                    ? nn::WarmupKind::Linear
                                                              : nn::WarmupKind::Exponential;
        s.warmup.ratio = wr.number("ratio", s.warmup.ratio, 0, 1);
        wr.finish();
    }
    r.finish();
    SEGCORE_CHECK(s.type != "step" || s.step_size > 0, "scheduler.step_size: \"step\" needs a step_size > 0 (iterations)");
    SEGCORE_CHECK(s.type != "multistep" || !s.milestones.empty(), "scheduler.milestones: \"multistep\" needs milestones");
}

void parse_train(TrainConfig& c, const json& j) {
    JsonReader r(j, "train");
    TrainSection& t = c.train;
    t.epochs = r.integer("epochs", 0, 0);
    t.iters = r.integer("iters", 0, 0);
    t.batch_size = r.integer("batch_size", t.batch_size, 1, 1 << 20);
    t.accumulate = r.integer("accumulate", t.accumulate, 1, 1 << 20);
    t.clip_grad_norm = r.number("clip_grad_norm", t.clip_grad_norm, 0);
    t.amp = r.string("amp", t.amp, {"off", "f16", "bf16"});
    t.seed = uint64_t(r.integer("seed", 0, 0));
    t.deterministic = r.boolean("deterministic", t.deterministic);
    t.device = r.string("device", t.device);
    t.drop_last = r.boolean("drop_last", t.drop_last);
    r.finish();
    SEGCORE_CHECK((t.epochs > 0) != (t.iters > 0), "train: set exactly one of \"epochs\" and \"iters\" (got epochs ",
                  t.epochs, ", iters ", t.iters, ")");
}

void parse_eval(TrainConfig& c, const json& j) {
    JsonReader r(j, "eval");
    EvalSection& e = c.eval;
    e.interval = r.integer("interval", e.interval, 0);
    e.batch_size = r.integer("batch_size", 0, 0);
    e.boundary_f1 = r.boolean("boundary_f1", e.boundary_f1);
    // The inference keys are InferOptions' (seg/inference/infer.h), validated by it.
    e.inference = json::object();
    for (const char* k : {"mode", "crop", "stride", "flip", "scales"})
        if (const json* v = r.raw(k)) e.inference[k] = *v;
    r.finish();
    InferOptions::from_json(e.inference, "eval");
}

void parse_checkpoint(TrainConfig& c, const json& j, const std::string& base_dir) {
    JsonReader r(j, "checkpoint");
    CheckpointSection& k = c.checkpoint;
    k.dir = resolve_path(r.string("dir", "runs/" + c.name), base_dir);
    k.keep_last = r.integer("keep_last", k.keep_last, 1);
    k.interval = r.integer("interval", 0, 0);
    k.best_metric = r.string("best_metric", k.best_metric, selectable_metrics());
    r.finish();
}

void parse_early_stopping(TrainConfig& c, const json& j) {
    JsonReader r(j, "early_stopping");
    c.early_stopping.patience = r.integer("patience", 0, 0);
    c.early_stopping.min_delta = r.number("min_delta", 0, 0);
    r.finish();
}

void parse_logging(TrainConfig& c, const json& j) {
    JsonReader r(j, "logging");
    c.logging.progress = r.string("progress", c.logging.progress, {"auto", "bar", "lines", "off"});
    c.logging.interval = r.integer("interval", c.logging.interval, 1);
    c.logging.jsonl = r.boolean("jsonl", c.logging.jsonl);
    c.logging.csv = r.boolean("csv", c.logging.csv);
    r.finish();
}

}  // namespace

const std::vector<std::string>& selectable_metrics() {
    static const std::vector<std::string> m = {"miou", "pixel_accuracy", "mean_accuracy", "fwiou", "mean_dice"};
    return m;
}

std::string expand_env(const std::string& s, const std::string& what) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (s[i] != '$') {
            out += s[i++];
            continue;
        }
        size_t start = i + 1, end;
        const bool braced = start < s.size() && s[start] == '{';
        if (braced) {
            end = s.find('}', start);
            SEGCORE_CHECK(end != std::string::npos, what, ": unterminated ${ in '", s, "'");
            ++start;
        } else {
            end = start;
            while (end < s.size() && (std::isalnum((unsigned char)s[end]) || s[end] == '_')) ++end;
        }
        const std::string var = s.substr(start, end - start);
        SEGCORE_CHECK(!var.empty(), what, ": empty variable name in '", s, "'");
        const char* v = std::getenv(var.c_str());
        SEGCORE_CHECK(v && *v, what, ": environment variable ", var, " is not set (it locates the data: export ", var,
                      "=/path/to/dataset)");
        out += v;
        i = braced ? end + 1 : end;
    }
    return out;
}

TrainConfig parse_train_config(const json& config, const std::string& base_dir, const std::string& default_name) {
    JsonReader r(config, "");
    TrainConfig c;
    c.resolved = config;
    c.name = r.string("name", default_name);
    r.string("description", "");
    const json* model = r.raw("model");
    SEGCORE_CHECK(model && model->is_object(), "model: required, a JSON object such as {\"name\": \"unet\"} (",
                  "docs/models.md lists every model)");
    c.model = *model;
    if (c.model.contains("pretrained")) {
        SEGCORE_CHECK(c.model["pretrained"].is_string(), "model.pretrained: expected a path, got ",
                      json_excerpt(c.model["pretrained"]));
        c.pretrained = resolve_path(c.model["pretrained"].get<std::string>(), base_dir);
        c.model.erase("pretrained");
        SEGCORE_CHECK(data::file_exists(c.pretrained), "model.pretrained: ", c.pretrained, ": no such file");
    }
    const json* data = r.raw("data");
    SEGCORE_CHECK(data && data->is_object(), "data: required, a JSON object with at least \"dataset\"");
    parse_data(c, *data, base_dir);
    parse_loss(c, section(r, "loss"), base_dir);
    parse_optimizer(c, section(r, "optimizer"));
    parse_scheduler(c, section(r, "scheduler"));
    const json train = section(r, "train");
    SEGCORE_CHECK(!train.empty(), "train: required, with \"epochs\" or \"iters\"");
    parse_train(c, train);
    parse_eval(c, section(r, "eval"));
    parse_checkpoint(c, section(r, "checkpoint"), base_dir);
    parse_early_stopping(c, section(r, "early_stopping"));
    parse_logging(c, section(r, "logging"));
    r.finish();
    return c;
}

}  // namespace segcore::seg
