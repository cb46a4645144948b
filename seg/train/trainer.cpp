#include "seg/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <algorithm>
#include <sstream>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/json_parse.h"
#include "data/dataset.h"
#include "data/file_util.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "kernels/conv/conv_backend.h"
#include "kernels/ops.h"
#include "nn/grad_scaler.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/state_dict.h"
#include "seg/inference/infer.h"
#include "seg/inference/model_card.h"
#include "seg/losses/combined.h"
#include "seg/inference/evaluate.h"
#include "seg/models/model_file.h"
#include "seg/models/pretrained.h"
#include "seg/models/registry.h"
#include "seg/models/siamese_unet.h"
#include "seg/train/config_file.h"
#include "seg/train/nonfinite.h"
#include "seg/train/optim_factory.h"
#include "seg/train/run_folder.h"
#include "seg/train/run_log.h"

namespace segcore::seg {

namespace fs = std::filesystem;
namespace F = segcore::autograd;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kCheckpointFormat = "segcore-trainer-checkpoint-1";

// ---- signals: the first SIGINT/SIGTERM asks the running trainer to stop after its step; the
// handler then restores the default action, so a second one ends the process at once.
std::atomic<bool>* g_stop_flag = nullptr;
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) {
    g_signal = sig;
    if (g_stop_flag) g_stop_flag->store(true);
    std::signal(sig, SIG_DFL);
}

struct SignalGuard {
    bool active = false;
    void (*prev_int)(int) = SIG_DFL;
    void (*prev_term)(int) = SIG_DFL;
    SignalGuard(std::atomic<bool>* flag, bool on) : active(on) {
        if (!active) return;
        g_stop_flag = flag;
        g_signal = 0;
        prev_int = std::signal(SIGINT, on_stop_signal);
        prev_term = std::signal(SIGTERM, on_stop_signal);
    }
    ~SignalGuard() {
        if (!active) return;
        std::signal(SIGINT, prev_int);
        std::signal(SIGTERM, prev_term);
        g_stop_flag = nullptr;
    }
};

Device pick_device(const std::string& s) {
    if (s == "auto") return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
    const Device d = Device::parse(s);
    if (d.is_cuda()) require_cuda("train.device");
    return d;
}

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

// Keys whose values differ between two configs ("train.batch_size"), for the resume warning.
void diff_keys(const json& a, const json& b, const std::string& path, std::vector<std::string>& out) {
    if (a.is_object() && b.is_object()) {
        std::set<std::string> keys;
        for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
        for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
        for (const std::string& k : keys) {
            const std::string p = path.empty() ? k : path + "." + k;
            if (!a.contains(k) || !b.contains(k))
                out.push_back(p);
            else
                diff_keys(a[k], b[k], p, out);
        }
    } else if (a != b) {
        out.push_back(path);
    }
}

json metrics_json(const ValResult& v, const std::vector<std::string>& classes) {
    const SegMetrics& m = v.metrics;
    json j = {{"miou", m.miou},          {"pixel_accuracy", m.pixel_accuracy}, {"mean_accuracy", m.mean_accuracy},
              {"fwiou", m.fwiou},        {"mean_dice", m.mean_dice},           {"classes_evaluated", m.classes_evaluated},
              {"pixels", m.total}};
    if (std::isfinite(v.boundary_f1)) j["boundary_f1"] = v.boundary_f1;
    json per = json::object();
    for (size_t c = 0; c < m.iou.size(); ++c) per[c < classes.size() ? classes[c] : std::to_string(c)] = m.iou[c];
    j["iou"] = per;
    return j;
}

}  // namespace

double metric_value(const SegMetrics& m, const std::string& name) {
    if (name == "miou") return m.miou;
    if (name == "pixel_accuracy") return m.pixel_accuracy;
    if (name == "mean_accuracy") return m.mean_accuracy;
    if (name == "fwiou") return m.fwiou;
    if (name == "mean_dice") return m.mean_dice;
    SEGCORE_THROW("unknown metric '", name, "' (allowed: ", join_strings(selectable_metrics()), ")");
}

std::string latest_checkpoint(const std::string& run_dir) {
    const fs::path dir = fs::path(run_dir) / "checkpoints";
    if (!fs::is_directory(dir)) return "";
    std::string best;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        // iter_00000012.safetensors: zero-padded, so the name order is the iteration order.
        if (n.rfind("iter_", 0) == 0 && e.path().extension() == ".safetensors" && n > fs::path(best).filename().string())
            best = e.path().string();
    }
    return best;
}

// --check: the temporary folder a synthetic dataset is drawn into, removed with the trainer (also
// when its constructor throws).
struct TempFolder {
    std::string path;
    ~TempFolder() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

struct Trainer::Impl {
    TempFolder check_data;  // first: destroyed after the loaders that read it
    std::unique_ptr<data::Loader> train_loader, val_loader;
    CombinedLoss loss;
    std::unique_ptr<nn::Optimizer> opt;
    std::unique_ptr<nn::LRScheduler> sched;
    std::unique_ptr<nn::GradScaler> scaler;
    std::shared_ptr<SegModel> teacher;
    SiameseUNet* siamese = nullptr;  // the model, when it is a Siamese U-Net trained with consistency
    InferOptions infer;
    std::unique_ptr<RunLog> log;
    std::unique_ptr<RunFolderLock> lock;  // held from construction to destruction (not in --check)
    std::string hash;

    // Position: the epoch being trained and the steps of it already done.
    int64_t epoch = 0, step_in_epoch = 0, loader_epoch = -1;
    // Running statistics of the current epoch (checkpointed, so a resumed epoch reports the same).
    double loss_sum = 0;
    int64_t loss_count = 0;
    std::map<std::string, double> term_sums;
    // Best metric and early stopping.
    double best_value = std::nan("");
    int64_t best_iter = -1, evals_since_best = 0;
    int64_t skipped_steps = 0, consecutive_skips = 0;
    bool stop_early = false;
    ValResult last_val;
    std::string last_checkpoint, best_model;
    int64_t checkpoint_iter = -1;  // the iteration of last_checkpoint
    uint64_t rng_offset_at_step = 0;  // the generator before the running step (a failed step rewinds)
    bool in_step = false, step_changed_model = false, failure_saved = false;
    bool eval_pending = false;  // validation after iter_ failed: a resumed run does it first
    // Throughput of this session (not checkpointed: wall-clock facts).
    Clock::time_point session_start;
    int64_t session_start_iter = 0, session_images = 0;
    data::Batch last_batch;  // for the non-finite diagnosis
};

Trainer::Trainer(TrainConfig cfg, TrainerOptions opt) : impl_(std::make_unique<Impl>()), cfg_(std::move(cfg)), opt_(opt) {
    Impl& s = *impl_;
    device_ = pick_device(cfg_.train.device);
    // cuDNN's algorithm choice and autotuning may differ run to run; segcore's own kernels are
    // deterministic (fixed-order reductions), so a deterministic run uses them.
    if (device_.is_cuda() && cfg_.train.deterministic) kernels::set_conv_backend(kernels::ConvBackend::Native);

    // ---- data
    const DataSection& d = cfg_.data;
    std::string spec_path = d.dataset;
    if (d.synth && !fs::exists(d.dataset)) {
        SEGCORE_CHECK(fs::path(d.dataset).filename() == "dataset.json", "data.dataset: with data.synth the spec must ",
                      "be named dataset.json (it is written beside the images), got ", d.dataset);
        std::string folder = fs::path(d.dataset).parent_path().string();
        if (opt_.check_only) {  // writes nothing where the run would: a temp copy, removed afterwards
            s.check_data.path = folder = (fs::temp_directory_path() / ("segcore-check-" + std::to_string(::getpid()))).string();
            spec_path = (fs::path(folder) / "dataset.json").string();
        }
        if (!opt_.quiet) std::printf("segcore train: drawing the synthetic dataset into %s\n", folder.c_str());
        data::write_synth_dataset(folder, *d.synth);
    }
    spec_ = data::load_dataset_spec(spec_path);
    if (!d.root.empty()) spec_.root = d.root;
    const data::TransformContext ctx{spec_.ignore_index};
    data::LoaderOptions lo;
    lo.batch_size = cfg_.train.batch_size;
    lo.num_workers = d.workers;
    lo.seed = cfg_.train.seed;
    lo.device = device_;
    lo.drop_last = cfg_.train.drop_last;
    lo.skip_bad_samples = d.skip_bad_samples;
    s.train_loader = std::make_unique<data::Loader>(data::open_dataset(spec_, d.train_split),
                                                    data::Compose::from_json(d.train_transforms, ctx, "data.train_transforms"), lo);
    lo.shuffle = false;
    lo.drop_last = false;
    lo.skip_bad_samples = false;  // validation numbers must cover the whole split
    lo.batch_size = cfg_.eval.batch_size > 0 ? cfg_.eval.batch_size : cfg_.train.batch_size;
    s.val_loader = std::make_unique<data::Loader>(data::open_dataset(spec_, d.val_split),
                                                  data::Compose::from_json(d.val_transforms, ctx, "data.val_transforms"), lo);
    iters_per_epoch_ = s.train_loader->num_batches() / cfg_.train.accumulate;
    SEGCORE_CHECK(iters_per_epoch_ >= 1, "train: the '", d.train_split, "' split has ", s.train_loader->num_samples(),
                  " samples: fewer than one step of batch_size ", cfg_.train.batch_size, " x accumulate ",
                  cfg_.train.accumulate);
    total_iters_ = cfg_.train.iters > 0 ? cfg_.train.iters : cfg_.train.epochs * iters_per_epoch_;

    // ---- model (seeded first: the initial weights come from the default generator)
    manual_seed(cfg_.train.seed);
    json mspec = cfg_.model;
    if (!mspec.contains("num_classes")) mspec["num_classes"] = spec_.num_classes();
    if (!mspec.contains("in_channels")) mspec["in_channels"] = spec_.image_channels;
    check_against_dataset(mspec);
    cfg_.model = mspec;
    model_ = build_model(mspec, "model");
    if (!cfg_.pretrained.empty()) {
        // A whole model's state dict, or ImageNet backbone weights (loaded under "backbone.").
        const PretrainedLoad pl = load_pretrained(*model_, cfg_.pretrained);
        const nn::LoadReport& rep = pl.report;
        if (!opt_.quiet)
            std::printf("segcore train: loaded %zu tensors from %s%s%s%s\n", rep.loaded.size(), cfg_.pretrained.c_str(),
                        pl.prefix.empty() ? "" : " into the backbone (its names under \"backbone.\")",
                        rep.clean() ? "" : "; not loaded:\n", rep.clean() ? "" : rep.str().c_str());
    }
    model_->to(device_);
    model_->train();

    // ---- loss
    json lspec = cfg_.loss.combined;
    if (!lspec.contains("ignore_index")) lspec["ignore_index"] = spec_.ignore_index;
    s.loss = CombinedLoss::from_json(lspec, "loss");
    const std::vector<CombinedLoss::Term>& terms = s.loss.terms();
    for (size_t i = 0; i < terms.size(); ++i) {
        const std::string key = terms[i].type == CombinedLoss::Type::Focal ? "alpha" : "class_weights";
        SEGCORE_CHECK(terms[i].class_vector.empty() || int64_t(terms[i].class_vector.size()) == spec_.num_classes(),
                      "loss.terms[", i, "].", key, ": ", terms[i].class_vector.size(), " values, but the dataset ",
                      spec_.name, " has ", spec_.num_classes(), " classes");
    }
    if (!cfg_.loss.teacher.empty()) {
        LoadedModel t = load_model_file(cfg_.loss.teacher);
        SEGCORE_CHECK(t.model->num_classes() == spec_.num_classes(), "loss.teacher: ", cfg_.loss.teacher, " predicts ",
                      t.model->num_classes(), " classes, the dataset has ", spec_.num_classes());
        s.teacher = t.model;
        s.teacher->to(device_);
        s.teacher->eval();
    }
    if (cfg_.loss.consistency_weight > 0) {
        s.siamese = dynamic_cast<SiameseUNet*>(model_.get());
        SEGCORE_CHECK(s.siamese, "loss.consistency: needs model.name \"siamese_unet\", got \"",
                      cfg_.model.value("name", "?"), "\"");
    }

    // ---- optimisation
    s.opt = make_optimizer(cfg_.optimizer, *model_);
    s.sched = make_scheduler(cfg_.scheduler, *s.opt, total_iters_);
    nn::GradScalerOptions gso;
    gso.enabled = cfg_.train.amp == "f16";
    s.scaler = std::make_unique<nn::GradScaler>(gso);
    s.infer = InferOptions::from_json(cfg_.eval.inference, "eval");

    // ---- run folder, config, resume. The lock comes first: whatever is read below (the newest
    // checkpoint, the logs) cannot change under us any more.
    if (opt_.check_only) {
        check_folder_writable(run_dir(), "checkpoint.dir");  // could be created, but is not
    } else {
        create_folder(run_dir(), "checkpoint.dir");
        create_folder((fs::path(run_dir()) / "checkpoints").string(), "checkpoint.dir");
        s.lock = std::make_unique<RunFolderLock>(run_dir(), "segcore train");
        for (const std::string& f : remove_stale_temp_files(run_dir()))
            if (!opt_.quiet) std::printf("segcore train: removed %s (a write of a process that no longer runs)\n", f.c_str());
    }
    s.hash = seg::config_hash(cfg_.resolved);
    std::string resume = opt_.resume;
    if (resume == "auto") resume = latest_checkpoint(run_dir());
    else if (resume.empty())
        SEGCORE_CHECK(latest_checkpoint(run_dir()).empty(), "checkpoint.dir ", run_dir(),
                      " already holds checkpoints of a run: continue it with --resume auto, or choose another ",
                      "folder (--out DIR or --set checkpoint.dir=DIR)");
    if (!resume.empty()) load_checkpoint(resume);
    if (opt_.check_only) return;
    // Records of iterations after the one we continue from were lost with the process that wrote
    // them; the continued run writes them again.
    if (const int64_t n = truncate_run_logs(run_dir(), iter_); n > 0 && !opt_.quiet)
        std::printf("segcore train: dropped %lld log records after iteration %lld (not in the checkpoint)\n",
                    (long long)n, (long long)iter_);
    const std::string resolved = cfg_.resolved.dump(2) + "\n", hash_line = s.hash + "\n";
    data::write_file_atomic((fs::path(run_dir()) / "config.json").string(), resolved.data(), resolved.size());
    data::write_file_atomic((fs::path(run_dir()) / "config.hash").string(), hash_line.data(), hash_line.size());
    LoggingSection lcfg = cfg_.logging;
    if (opt_.quiet) lcfg.progress = "off";
    s.log = std::make_unique<RunLog>(run_dir(), lcfg, spec_.classes);
}

Trainer::~Trainer() = default;

void Trainer::check_against_dataset(const json& mspec) {
    SEGCORE_CHECK(mspec["num_classes"] == json(spec_.num_classes()), "model.num_classes: ", json_excerpt(mspec["num_classes"]),
                  " but the dataset ", spec_.name, " has ", spec_.num_classes(), " classes");
    SEGCORE_CHECK(mspec["in_channels"] == json(spec_.image_channels), "model.in_channels: ", json_excerpt(mspec["in_channels"]),
                  " but the dataset ", spec_.name, " has ", spec_.image_channels, "-channel images");
}

std::string Trainer::config_hash() const { return impl_->hash; }

// ---------------------------------------------------------------- checkpoints

std::string Trainer::save_checkpoint() {
    Impl& s = *impl_;
    nn::StateDict ck;
    for (const auto& [name, t] : model_->state_dict()) ck.tensors["model." + name] = t;
    ck.insert("optimizer.", s.opt->state_dict());
    ck.insert("scheduler.", s.sched->state_dict());
    ck.insert("scaler.", s.scaler->state_dict());
    ck.put_i64("trainer.iter", iter_);
    ck.put_i64("trainer.epoch", s.epoch);
    ck.put_i64("trainer.step_in_epoch", s.step_in_epoch);
    ck.put_i64("trainer.rng_offset", int64_t(default_generator().offset()));
    ck.put_i64("trainer.rng_seed", int64_t(default_generator().seed()));
    ck.put_f64("trainer.loss_sum", s.loss_sum);
    ck.put_i64("trainer.loss_count", s.loss_count);
    for (const auto& [name, v] : s.term_sums) ck.put_f64("trainer.term_sum." + name, v);
    ck.put_f64("trainer.best_value", s.best_value);
    ck.put_i64("trainer.best_iter", s.best_iter);
    ck.put_i64("trainer.evals_since_best", s.evals_since_best);
    ck.put_i64("trainer.skipped_steps", s.skipped_steps);
    ck.put_i64("trainer.eval_pending", s.eval_pending ? 1 : 0);
    ck.metadata["format"] = kCheckpointFormat;
    ck.metadata["config"] = cfg_.resolved.dump();
    ck.metadata["config_hash"] = s.hash;
    ck.metadata["date"] = now_iso8601();
    char name[64];
    std::snprintf(name, sizeof name, "iter_%08lld.safetensors", (long long)iter_);
    const fs::path path = fs::path(run_dir()) / "checkpoints" / name;
    ck.save(path.string());  // atomic: a crash leaves the previous checkpoints intact
    s.last_checkpoint = path.string();
    s.checkpoint_iter = iter_;

    // Keep the newest keep_last (after the new one is safely on disk).
    std::vector<fs::path> all;
    for (const auto& e : fs::directory_iterator(path.parent_path()))
        if (e.path().filename().string().rfind("iter_", 0) == 0 && e.path().extension() == ".safetensors")
            all.push_back(e.path());
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i + size_t(cfg_.checkpoint.keep_last) < all.size(); ++i) fs::remove(all[i]);
    s.log->record({{"type", "checkpoint"}, {"iter", iter_}, {"path", path.string()}});
    return path.string();
}

void Trainer::load_checkpoint(const std::string& path) {
    Impl& s = *impl_;
    SEGCORE_CHECK(fs::exists(path), "--resume: ", path, ": no such checkpoint");
    const nn::StateDict ck = nn::StateDict::load(path);
    const std::string who = "checkpoint " + path;
    SEGCORE_CHECK(ck.metadata.count("format") && ck.metadata.at("format") == kCheckpointFormat, who,
                  ": not a segcore trainer checkpoint (metadata format '",
                  ck.metadata.count("format") ? ck.metadata.at("format") : "", "', expected '", kCheckpointFormat,
                  "'); a best-model file is loaded with model.pretrained instead");
    const auto hash_it = ck.metadata.find("config_hash");
    const bool same_config = hash_it != ck.metadata.end() && hash_it->second == s.hash;
    if (hash_it != ck.metadata.end() && !same_config) {
        std::vector<std::string> diff;
        diff_keys(parse_json(ck.meta("config", who), who + ": metadata \"config\""), cfg_.resolved, "", diff);
        std::fprintf(stderr, "segcore train: warning: resuming %s with a changed config (%s); the run will not be "
                             "bit-identical to an uninterrupted one\n", path.c_str(), join_strings(diff).c_str());
    }
    nn::NamedTensors model_state;
    for (const auto& [k, t] : ck.extract("model.").tensors) model_state.emplace_back(k, t);
    // Non-finite weights are reported below with the file and the field (validate_trainer_state).
    const nn::LoadReport rep = model_->load_state_dict(model_state, /*strict=*/false, /*allow_nonfinite=*/true);
    SEGCORE_CHECK(rep.clean(), who, ": the model state does not match the configured model:\n", rep.str());
    s.opt->load_state_dict(ck.extract("optimizer."));
    s.sched->load_state_dict(ck.extract("scheduler."));
    s.scaler->load_state_dict(ck.extract("scaler."));
    iter_ = ck.get_i64("trainer.iter", who);
    s.epoch = ck.get_i64("trainer.epoch", who);
    s.step_in_epoch = ck.get_i64("trainer.step_in_epoch", who);
    SEGCORE_CHECK(s.step_in_epoch <= iters_per_epoch_, who, ": stopped at step ", s.step_in_epoch,
                  " of an epoch that now has ", iters_per_epoch_, " steps (batch_size, accumulate or the dataset changed)");
    const int64_t rng_seed = ck.get_i64("trainer.rng_seed", who), rng_offset = ck.get_i64("trainer.rng_offset", who);
    SEGCORE_CHECK(rng_offset >= 0, who, ": trainer.rng_offset is ", rng_offset, ", expected a count >= 0");
    SEGCORE_CHECK(!same_config || uint64_t(rng_seed) == cfg_.train.seed, who, ": trainer.rng_seed is ", rng_seed,
                  ", but the checkpoint's config (same hash) says train.seed ", cfg_.train.seed);
    default_generator().manual_seed(uint64_t(rng_seed));
    default_generator().set_offset(uint64_t(rng_offset));
    s.loss_sum = ck.get_f64("trainer.loss_sum", who);
    s.loss_count = ck.get_i64("trainer.loss_count", who);
    for (const auto& [k, t] : ck.extract("trainer.term_sum.").tensors) s.term_sums[k] = t.item_double();
    s.best_value = ck.get_f64("trainer.best_value", who);
    s.best_iter = ck.get_i64("trainer.best_iter", who);
    s.evals_since_best = ck.get_i64("trainer.evals_since_best", who);
    s.skipped_steps = ck.get_i64("trainer.skipped_steps", who);
    // (absent from checkpoints written before it existed)
    const int64_t pending = ck.tensors.count("trainer.eval_pending") ? ck.get_i64("trainer.eval_pending", who) : 0;
    SEGCORE_CHECK(pending == 0 || pending == 1, who, ": trainer.eval_pending is ", pending, ", expected 0 or 1");
    s.eval_pending = pending == 1;
    validate_trainer_state(who, same_config);
    // Saved at the end of a finished run: extend it (after the pending evaluation, fit() does).
    if (s.step_in_epoch == iters_per_epoch_ && !s.eval_pending) {
        ++s.epoch;
        s.step_in_epoch = 0;
        s.loss_sum = 0;
        s.loss_count = 0;
        s.term_sums.clear();
    }
    s.last_checkpoint = path;
    s.checkpoint_iter = iter_;
    const fs::path best = fs::path(run_dir()) / "best_model.safetensors";
    if (fs::exists(best)) s.best_model = best.string();
    if (!opt_.quiet)
        std::printf("segcore train: resumed from %s (iteration %lld, epoch %lld, step %lld of %lld)\n", path.c_str(),
                    (long long)iter_, (long long)s.epoch + 1, (long long)s.step_in_epoch, (long long)iters_per_epoch_);
}

// Every value the loop trusts, checked before it runs: in range, finite, and consistent with each
// other (a checkpoint edited by hand or by a bug must not train on from "iteration -5").
void Trainer::validate_trainer_state(const std::string& who, bool same_config) {
    const Impl& s = *impl_;
    auto require = [&](bool ok, const char* field, const auto& value, const std::string& expected) {
        SEGCORE_CHECK(ok, who, ": trainer.", field, " is ", value, ", expected ", expected);
    };
    require(iter_ >= 0, "iter", iter_, "a count >= 0");
    require(s.epoch >= 0 && s.epoch <= iter_, "epoch", s.epoch, "0 to trainer.iter (" + std::to_string(iter_) + ")");
    require(s.step_in_epoch >= 0 && s.epoch + s.step_in_epoch <= iter_, "step_in_epoch", s.step_in_epoch,
            "0 to trainer.iter - trainer.epoch (" + std::to_string(iter_ - s.epoch) + ")");
    // With the same config every epoch had iters_per_epoch steps (unless the dataset changed).
    require(!same_config || ((iter_ - s.step_in_epoch) % iters_per_epoch_ == 0 &&
                             (iter_ - s.step_in_epoch) / iters_per_epoch_ == s.epoch),
            "epoch", s.epoch, std::to_string((iter_ - s.step_in_epoch) / iters_per_epoch_) + " for iteration " +
                                  std::to_string(iter_) + " at step " + std::to_string(s.step_in_epoch) + " of " +
                                  std::to_string(iters_per_epoch_) + " per epoch (did the dataset change?)");
    require(s.loss_count >= 0 && s.loss_count <= s.step_in_epoch, "loss_count", s.loss_count,
            "0 to trainer.step_in_epoch (" + std::to_string(s.step_in_epoch) + ")");
    require(std::isfinite(s.loss_sum) && s.loss_sum >= 0 && (s.loss_count > 0 || s.loss_sum == 0), "loss_sum",
            s.loss_sum, "a finite sum of losses >= 0 (0 when trainer.loss_count is 0)");
    for (const auto& [k, v] : s.term_sums)
        require(std::isfinite(v) && v >= 0, ("term_sum." + k).c_str(), v, "a finite sum of losses >= 0");
    const bool evaluated = s.best_iter >= 0;
    require(s.best_iter >= -1 && s.best_iter <= iter_, "best_iter", s.best_iter,
            "-1 (never evaluated) or 0 to trainer.iter (" + std::to_string(iter_) + ")");
    require(evaluated ? std::isfinite(s.best_value) && s.best_value >= 0 && s.best_value <= 1 : std::isnan(s.best_value),
            "best_value", s.best_value, evaluated ? "a metric in [0, 1]" : "NaN (trainer.best_iter is -1)");
    require(s.evals_since_best >= 0 && s.evals_since_best <= iter_, "evals_since_best", s.evals_since_best,
            "0 to trainer.iter (" + std::to_string(iter_) + ")");
    require(s.skipped_steps >= 0 && s.skipped_steps <= iter_, "skipped_steps", s.skipped_steps,
            "0 to trainer.iter (" + std::to_string(iter_) + ")");
    // The states loaded beside it: the schedule steps once per iteration (skipped or not), the
    // loss scale is a positive finite number, and the weights are finite.
    SEGCORE_CHECK(s.sched->last_iter() == iter_, who, ": scheduler.last_iter is ", s.sched->last_iter(),
                  ", expected trainer.iter (", iter_, ")");
    // (the stored scale, also when this run has amp off: a later resume may turn it on)
    const double scale = s.scaler->scale_tensor().defined() ? s.scaler->scale_tensor().item_double() : 1.0;
    SEGCORE_CHECK(std::isfinite(scale) && scale > 0 && s.scaler->get_growth_tracker() >= 0, who, ": scaler.scale is ",
                  scale, " and scaler.growth_tracker ", s.scaler->get_growth_tracker(),
                  ", expected a finite scale > 0 and a count >= 0");
    for (const auto& [name, t] : model_->state_dict())
        if (is_floating(t.dtype()))
            SEGCORE_CHECK(first_nonfinite(t) < 0, who, ": model.", name, " holds a non-finite value (element ",
                          first_nonfinite(t), ")");
    // Optimiser moments and hyper-parameters too: a NaN moment turns every later step into NaN.
    for (const auto& [name, t] : s.opt->state_dict().tensors)
        if (is_floating(t.dtype()))
            SEGCORE_CHECK(first_nonfinite(t) < 0, who, ": optimizer.", name, " holds a non-finite value (element ",
                          first_nonfinite(t), ")");
}

// ---------------------------------------------------------------- one step

namespace {

// The second view of the Siamese consistency term: a per-image, per-channel gain and a per-image
// offset in normalised units, x' = x * (1 + s u1) + s u2 with u ~ U[-1, 1] from the default
// generator (checkpointed, so resumed runs draw the same views).
Tensor photometric_view(const Tensor& x, double strength) {
    const int64_t n = x.size(0), c = x.size(1);
    TensorOptions o{DType::F32, x.device()};
    const Tensor gain = ops::add(ops::mul(rand({n, c, 1, 1}, o), 2 * strength), 1.0 - strength);
    const Tensor shift = ops::add(ops::mul(rand({n, 1, 1, 1}, o), 2 * strength), -strength);
    return ops::add(ops::mul(x, gain), shift);
}

}  // namespace

// The loss of one batch (under autocast when train.amp says so); `terms` collects each named
// term's value / divisor.
Variable Trainer::batch_loss(const data::Batch& b, std::map<std::string, double>& step_terms, double divisor) {
    Impl& s = *impl_;
    const bool amp = cfg_.train.amp != "off";
    const DType amp_dtype = cfg_.train.amp == "f16" ? DType::F16 : DType::BF16;
    Tensor teacher_logits;
    if (s.teacher) {
        autograd::NoGradGuard ng;
        F::AutocastGuard ac(amp_dtype, amp);
        teacher_logits = (*s.teacher)(Variable(b.images)).data().to(DType::F32);
    }
    F::AutocastGuard ac(amp_dtype, amp);
    auto head_losses = [&](const SegOutput& o) {
        CombinedLossOutput main = s.loss(o.out, b.labels, teacher_logits);
        Variable t = main.loss;
        for (const LossTermValue& v : main.terms) step_terms[v.name] += v.value.item() / divisor;
        for (const auto& [name, logits] : o.aux) {
            const auto it = cfg_.loss.aux_weights.find(name);
            const double w = it != cfg_.loss.aux_weights.end() ? it->second : cfg_.loss.aux_weight;
            if (w > 0) t = t + s.loss(logits, b.labels, teacher_logits).loss * w;
        }
        return t;
    };
    if (s.siamese) {
        const Tensor view = photometric_view(b.images, cfg_.loss.consistency_strength);
        auto [oa, ob] = s.siamese->forward_pair(Variable(b.images), Variable(view));
        const Variable cons = s.siamese->consistency(oa, ob);
        step_terms["consistency"] += cons.item() / divisor;
        return (head_losses(oa) + head_losses(ob)) * 0.5 + cons * cfg_.loss.consistency_weight;
    }
    return head_losses(model_->forward_seg(Variable(b.images)));
}

void Trainer::train_step() {
    Impl& s = *impl_;
    const int64_t acc = cfg_.train.accumulate;
    s.opt->zero_grad();
    double step_loss = 0;
    std::map<std::string, double> step_terms;
    bool finite = true;
    // All of the step's batches first: a bad image then stops the step before any forward pass has
    // changed the model (batch-norm statistics), so the state of the last whole step can be saved.
    std::vector<data::Batch> batches(static_cast<size_t>(acc));
    for (data::Batch& b : batches) {
        SEGCORE_CHECK(s.train_loader->next(b), "train: the loader ended epoch ", s.epoch + 1, " early (at step ",
                      s.step_in_epoch + 1, ")");
        SEGCORE_CHECK(b.labels.defined(), "train: the '", cfg_.data.train_split, "' split has no masks");
    }
    s.step_changed_model = true;
    for (int64_t k = 0; k < acc; ++k) {
        data::Batch& b = s.last_batch;
        b = std::move(batches[size_t(k)]);
        const Variable total = batch_loss(b, step_terms, double(acc));
        const double lv = total.item();
        if (!std::isfinite(lv)) {
            finite = false;
            break;
        }
        step_loss += lv / double(acc);
        s.scaler->scale(acc > 1 ? total * (1.0 / double(acc)) : total).backward();
        s.session_images += b.size();
    }
    if (!finite) {
        // Under f16 an overflow now and then is expected (the scaler already skips steps whose
        // gradients overflow): skip this step too. Otherwise, or when it keeps happening (20 in a
        // row), training has diverged: stop.
        if (s.scaler->is_enabled() && ++s.consecutive_skips < 20) {
            ++s.skipped_steps;
            s.opt->zero_grad();
            s.sched->step();  // the schedule follows the iteration count, skipped or not
            if (!opt_.quiet)
                s.log->print("segcore train: warning: non-finite f16 loss at iteration " + std::to_string(iter_ + 1) +
                             ": step skipped");
            return;
        }
        fail_nonfinite("loss");
    }
    if (cfg_.train.clip_grad_norm > 0 || !s.scaler->is_enabled()) {
        // Unscaled gradients: for clipping, and for the finiteness check (one pass over the grads).
        if (s.scaler->is_enabled()) s.scaler->unscale_(*s.opt);
        std::vector<Variable> params = model_->parameters();
        const Tensor norm = cfg_.train.clip_grad_norm > 0 ? nn::clip_grad_norm_(params, cfg_.train.clip_grad_norm)
                                                          : nn::grad_norm(params);
        if (!s.scaler->is_enabled() && !std::isfinite(norm.item_double())) fail_nonfinite("gradient");
    }
    s.scaler->step(*s.opt);
    s.scaler->update();
    s.sched->step();
    s.consecutive_skips = 0;
    s.loss_sum += step_loss;
    ++s.loss_count;
    for (const auto& [k, v] : step_terms) s.term_sums[k] += v;
}

void Trainer::fail_nonfinite(const std::string& what) {
    Impl& s = *impl_;
    const std::string where = locate_nonfinite(*model_, s.last_batch.images, what == "gradient");
    s.opt->zero_grad();
    // The weights are still those of the last good step (nothing was applied): save them, with
    // the generator as the step found it. The forward pass did update batch-norm statistics,
    // though; when it made them non-finite, a resume from this file is refused, so say so.
    default_generator().set_offset(s.rng_offset_at_step);
    const std::string ck = save_checkpoint();
    s.failure_saved = true;
    std::string broken;
    for (const auto& [name, t] : model_->state_dict())
        if (broken.empty() && is_floating(t.dtype()) && first_nonfinite(t) >= 0) broken = name;
    std::string ids;
    for (size_t i = 0; i < s.last_batch.ids.size() && i < 8; ++i) ids += (i ? ", " : "") + s.last_batch.ids[i];
    s.log->record({{"type", "end"}, {"reason", "non-finite " + what}, {"iter", iter_}, {"where", where}});
    SEGCORE_THROW("non-finite ", what, " at iteration ", iter_ + 1, " (epoch ", s.epoch + 1, ", step ", s.step_in_epoch + 1,
                  ", samples ", ids, "): the first non-finite tensor is ", where,
                  broken.empty() ? ". The last good state is saved in " : ". The state is saved in ", ck,
                  broken.empty() ? "" : ", but its model." + broken + " is not finite: resume from an earlier checkpoint",
                  " (lower optimizer.lr, set train.clip_grad_norm, or check the data).");
}

// ---------------------------------------------------------------- validation

ValResult Trainer::validate() {
    // The same loop as `segcore eval` (seg/inference/evaluate.h), so evaluating the saved model
    // reproduces these numbers exactly.
    EvalSettings es;
    es.device = device_;
    es.boundary_f1 = cfg_.eval.boundary_f1;
    const EvalResult e = evaluate_loader(*model_, *impl_->val_loader, spec_.num_classes(), spec_.ignore_index,
                                         impl_->infer, es);
    ValResult v;
    v.metrics = e.metrics;
    if (cfg_.eval.boundary_f1) v.boundary_f1 = e.boundary.mean_f1;
    v.seconds = e.seconds;
    return v;
}

void Trainer::dry_run() {
    Impl& s = *impl_;
    data::Batch b;
    const bool epoch_done = s.step_in_epoch == iters_per_epoch_;  // (resumed before a pending evaluation)
    s.train_loader->start_epoch(epoch_done ? s.epoch + 1 : s.epoch, epoch_done ? 0 : s.step_in_epoch * cfg_.train.accumulate);
    SEGCORE_CHECK(s.train_loader->next(b), "--check: the '", cfg_.data.train_split, "' split gave no batch");
    SEGCORE_CHECK(b.labels.defined(), "train: the '", cfg_.data.train_split, "' split has no masks");
    std::map<std::string, double> terms;
    {
        autograd::NoGradGuard ng;
        const double loss = batch_loss(b, terms, 1.0).item();
        SEGCORE_CHECK(std::isfinite(loss), "--check: the loss of the first training batch (samples ",
                      join_strings(b.ids), ") is ", loss, " before any step (check the data and data.train_transforms)");
    }
    s.loader_epoch = -1;  // a real run restarts the epoch
    data::Batch v;
    s.val_loader->start_epoch(0);
    SEGCORE_CHECK(s.val_loader->next(v), "--check: the '", cfg_.data.val_split, "' split gave no batch");
    SEGCORE_CHECK(v.labels.defined(), "eval: the '", cfg_.data.val_split, "' split has no masks");
    model_->eval();
    const Tensor logits = infer_logits(*model_, v.images, s.infer);
    model_->train();
    SEGCORE_CHECK(logits.size(1) == spec_.num_classes() && logits.size(2) == v.labels.size(1) &&
                      logits.size(3) == v.labels.size(2),
                  "--check: inference (", s.infer.str(), ") on the '", cfg_.data.val_split, "' split gave logits ",
                  logits.meta_str(), " for masks ", v.labels.meta_str());
}

// ---------------------------------------------------------------- the loop

void Trainer::save_best_model(const ValResult& v) {
    Impl& s = *impl_;
    ModelCard card = ModelCard::from_dataset(spec_);
    card.preprocessing = cfg_.data.val_transforms;
    card.inference = s.infer;
    std::map<std::string, std::string> md = card.to_metadata();
    json metrics = metrics_json(v, spec_.classes);
    metrics["iter"] = iter_;
    metrics["epoch"] = s.epoch + 1;
    md["metrics"] = metrics.dump();
    md["config"] = cfg_.resolved.dump();
    md["config_hash"] = s.hash;
    md["date"] = now_iso8601();
    md["hyperparameters"] = json{{"optimizer", cfg_.optimizer.type},
                                 {"lr", cfg_.optimizer.lr},
                                 {"weight_decay", cfg_.optimizer.weight_decay},
                                 {"scheduler", cfg_.scheduler.type},
                                 {"batch_size", cfg_.train.batch_size},
                                 {"accumulate", cfg_.train.accumulate},
                                 {"iters", total_iters_},
                                 {"amp", cfg_.train.amp},
                                 {"seed", cfg_.train.seed},
                                 {"loss", s.loss.str()}}
                                .dump();
    const std::string path = (fs::path(run_dir()) / "best_model.safetensors").string();
    save_model_file(*model_, cfg_.model, path, md);
    s.best_model = path;
}

void Trainer::end_of_evaluation(const ValResult& v, double seconds) {
    Impl& s = *impl_;
    s.last_val = v;
    const double value = metric_value(v.metrics, cfg_.checkpoint.best_metric);
    const bool improved = std::isfinite(value) &&
                          (!std::isfinite(s.best_value) || value > s.best_value + cfg_.early_stopping.min_delta);
    if (improved) {
        s.best_value = value;
        s.best_iter = iter_;
        s.evals_since_best = 0;
        save_best_model(v);
    } else {
        ++s.evals_since_best;
    }
    if (cfg_.early_stopping.patience > 0 && s.evals_since_best >= cfg_.early_stopping.patience) s.stop_early = true;

    const double train_loss = s.loss_count ? s.loss_sum / double(s.loss_count) : std::nan("");
    json rec = {{"type", "eval"},
                {"epoch", s.epoch + 1},
                {"iter", iter_},
                {"train_loss", train_loss},
                {"val_miou", v.metrics.miou},
                {"val_pixel_accuracy", v.metrics.pixel_accuracy},
                {"val_mean_accuracy", v.metrics.mean_accuracy},
                {"val_fwiou", v.metrics.fwiou},
                {"val_mean_dice", v.metrics.mean_dice},
                {"val_iou", v.metrics.iou},
                {"lr", s.opt->param_groups()[0].lr},
                {"seconds", seconds},
                {"eval_seconds", v.seconds},
                {"images_per_s", s.session_images / std::max(1e-9, std::chrono::duration<double>(Clock::now() - s.session_start).count())},
                {"best", improved}};
    if (std::isfinite(v.boundary_f1)) rec["val_boundary_f1"] = v.boundary_f1;
    for (const auto& [k, val] : s.term_sums) rec["train_" + k] = s.loss_count ? val / double(s.loss_count) : 0.0;
    s.log->record(rec);
    s.log->csv_row(rec);
    if (!opt_.quiet) {
        char line[256];
        std::snprintf(line, sizeof line,
                      "  epoch %3lld  iter %6lld  train loss %.4f  val mIoU %5.1f%%  pixel acc %5.1f%%  mean acc %5.1f%%%s",
                      (long long)s.epoch + 1, (long long)iter_, train_loss, 100 * v.metrics.miou,
                      100 * v.metrics.pixel_accuracy, 100 * v.metrics.mean_accuracy, improved ? "  (best)" : "");
        s.log->print(line);
    }
}

// After an error in the loop: keep the iterations done since the last checkpoint, if there are
// any and the state is whole. A step that failed while reading its batches is rewound to its
// start (nothing of it reached the model); one that failed later (out of memory in the forward
// pass, say) may have changed batch-norm statistics, so its state is not saved. Returns what
// happened, for the error message.
std::string Trainer::save_after_failure() {
    Impl& s = *impl_;
    const std::string last = s.last_checkpoint.empty() ? "there is no checkpoint yet"
                                                       : "the last checkpoint is " + s.last_checkpoint;
    if (s.in_step && s.step_changed_model)
        return "the failed step had started changing the model, so it was not saved; " + last;
    if (s.in_step) default_generator().set_offset(s.rng_offset_at_step);
    s.opt->zero_grad();
    if (iter_ == 0 || s.checkpoint_iter == iter_) return last;
    std::string error;
    try {
        save_checkpoint();
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (s.checkpoint_iter == iter_)  // saved (perhaps only its log record failed)
        return "saved iteration " + std::to_string(iter_) + " in " + s.last_checkpoint;
    return "could not save a checkpoint (" + error + "); " +
           (s.last_checkpoint.empty() ? std::string("there is no earlier one")
                                      : "the last one, " + s.last_checkpoint + ", is intact");
}

TrainResult Trainer::fit() {
    Impl& s = *impl_;
    SEGCORE_CHECK(!opt_.check_only, "train: this trainer was built for --check (read-only); it cannot fit");
    SignalGuard signals(&stop_requested_, opt_.handle_signals);
    const bool epoch_mode = cfg_.train.epochs > 0;
    s.session_start = Clock::now();
    s.session_start_iter = iter_;
    s.session_images = 0;
    if (!opt_.quiet) {
        std::ostringstream h;
        h << "segcore train: " << cfg_.name << " (config " << s.hash << ")\n"
          << "  model    " << cfg_.model.dump() << ", " << model_->num_parameters() << " parameters, on "
          << device_.str() << (cfg_.train.amp != "off" ? ", amp " + cfg_.train.amp : "") << "\n"
          << "  data     " << spec_.name << ": " << s.train_loader->num_samples() << " train / "
          << s.val_loader->num_samples() << " val samples, " << spec_.num_classes() << " classes\n"
          << "  loss     " << s.loss.str() << "\n"
          << "  optim    " << cfg_.optimizer.type << ", " << describe_groups(*s.opt, cfg_.optimizer) << "; "
          << cfg_.scheduler.type << " schedule\n"
          << "  schedule " << total_iters_ << " iterations (" << iters_per_epoch_ << " per epoch) of batch "
          << cfg_.train.batch_size << (cfg_.train.accumulate > 1 ? " x " + std::to_string(cfg_.train.accumulate) : "")
          << "; eval " << s.infer.str() << "\n"
          << "  output   " << run_dir();
        s.log->print(h.str());
    }
    s.log->record({{"type", "start"}, {"iter", iter_}, {"config_hash", s.hash}, {"date", now_iso8601()},
                   {"device", device_.str()}, {"total_iters", total_iters_}});

    std::string reason = "finished";
    auto epoch_start = Clock::now();
    std::string doing;  // what the loop is doing, for an error message
    // An evaluation that failed before this run's checkpoint was saved is done first.
    bool redo_eval = s.eval_pending;
    try {
        while (redo_eval || iter_ < total_iters_) {
            const bool redo = redo_eval;  // no step: only what followed the failed evaluation
            redo_eval = false;
            if (!redo) {
                if (s.loader_epoch != s.epoch) {
                    s.train_loader->start_epoch(s.epoch, s.step_in_epoch * cfg_.train.accumulate);
                    s.loader_epoch = s.epoch;
                }
                doing = "training iteration " + std::to_string(iter_ + 1) + " (epoch " + std::to_string(s.epoch + 1) +
                        ", step " + std::to_string(s.step_in_epoch + 1) + ")";
                s.rng_offset_at_step = default_generator().offset();
                s.in_step = true;
                s.step_changed_model = false;
                train_step();
                s.in_step = false;
                ++iter_;
                ++s.step_in_epoch;
                doing = "logging iteration " + std::to_string(iter_);

                const double elapsed = std::chrono::duration<double>(Clock::now() - s.session_start).count();
                const double per_iter = elapsed / double(iter_ - s.session_start_iter);
                ProgressState ps{s.epoch, epoch_mode ? cfg_.train.epochs : 0, iter_, total_iters_,
                                 s.loss_count ? s.loss_sum / double(s.loss_count) : 0.0, s.opt->param_groups()[0].lr,
                                 s.session_images / std::max(1e-9, elapsed), per_iter * double(total_iters_ - iter_)};
                s.log->progress(ps);
                if (iter_ % cfg_.logging.interval == 0)
                    s.log->record({{"type", "step"}, {"iter", iter_}, {"epoch", s.epoch + 1}, {"loss", ps.loss}, {"lr", ps.lr},
                                   {"images_per_s", ps.images_per_s}, {"skipped_steps", s.skipped_steps}});
            }

            const bool epoch_end = s.step_in_epoch == iters_per_epoch_;
            const bool last = iter_ == total_iters_;
            auto due = [&](int64_t interval) {
                if (interval <= 0) return false;
                return epoch_mode ? epoch_end && (s.epoch + 1) % interval == 0 : iter_ % interval == 0;
            };
            const bool evaluate = redo || last || due(cfg_.eval.interval);
            if (evaluate) {
                doing = "validating after iteration " + std::to_string(iter_) + " (epoch " + std::to_string(s.epoch + 1) +
                        ", the '" + cfg_.data.val_split + "' split)";
                s.eval_pending = true;  // a checkpoint saved because validation failed says so
                const ValResult v = validate();
                s.eval_pending = false;
                end_of_evaluation(v, std::chrono::duration<double>(Clock::now() - epoch_start).count());
            }
            doing = "saving after iteration " + std::to_string(iter_);
            if (epoch_end) {
                s.log->record({{"type", "epoch"}, {"epoch", s.epoch + 1}, {"iter", iter_},
                               {"train_loss", s.loss_count ? s.loss_sum / double(s.loss_count) : 0.0}});
                if (!last) {  // the final epoch's statistics stay for the result
                    ++s.epoch;
                    s.step_in_epoch = 0;
                    s.loss_sum = 0;
                    s.loss_count = 0;
                    s.term_sums.clear();
                }
                epoch_start = Clock::now();
            }
            if (after_step && !redo) after_step(*this);
            const bool stopping = s.stop_early || stop_requested_.load();
            const bool checkpoint = last || stopping || (cfg_.checkpoint.interval > 0 ? due(cfg_.checkpoint.interval) : evaluate);
            if (checkpoint) save_checkpoint();
            if (s.stop_early) {
                reason = "early_stopping";
                if (!opt_.quiet)
                    s.log->print("segcore train: early stopping: " + cfg_.checkpoint.best_metric + " did not improve for " +
                                 std::to_string(cfg_.early_stopping.patience) + " evaluations");
                break;
            }
            if (stop_requested_.load()) {
                reason = "interrupted";
                if (!opt_.quiet)
                    s.log->print("segcore train: " + std::string(g_signal == SIGTERM ? "SIGTERM" : g_signal == SIGINT ? "SIGINT" : "stop request") +
                                 ": saved " + s.last_checkpoint + " (continue with --resume auto)");
                break;
            }
        }
    } catch (const std::exception& e) {
        if (s.failure_saved) throw;  // the non-finite stop saved and said so already
        const auto* err = dynamic_cast<const Error*>(&e);
        const std::string what = err ? err->message() : e.what();
        const std::string saved = save_after_failure();
        try {
            s.log->record({{"type", "end"}, {"reason", "error"}, {"iter", iter_}, {"error", what}});
        } catch (const std::exception&) {  // the log may be what failed
        }
        SEGCORE_THROW(doing, ": ", what, "\n  ", saved, "; fix the cause and continue with --resume auto");
    }
    TrainResult r;
    r.stop_reason = reason;
    r.signal = reason == "interrupted" ? int(g_signal) : 0;
    r.iters = iter_;
    r.epochs_completed = s.epoch + (s.step_in_epoch == iters_per_epoch_ ? 1 : 0);
    r.best_value = s.best_value;
    r.best_iter = s.best_iter;
    r.last_val = s.last_val;
    r.final_train_loss = s.loss_count ? s.loss_sum / double(s.loss_count) : std::nan("");
    r.best_model = s.best_model;
    r.last_checkpoint = s.last_checkpoint;
    r.seconds = std::chrono::duration<double>(Clock::now() - s.session_start).count();
    r.images_per_s = s.session_images / std::max(1e-9, r.seconds);
    s.log->record({{"type", "end"}, {"reason", reason}, {"iter", iter_}, {"best_value", s.best_value},
                   {"best_iter", s.best_iter}, {"seconds", r.seconds}});
    return r;
}

}  // namespace segcore::seg
