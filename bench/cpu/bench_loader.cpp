// Data loader throughput on CamVid train (367 PNGs, 360x480): decode + label remap + the standard
// augmentation (random scale 0.5-2, crop 360x480 with padding, flip, colour jitter, normalise) +
// collation into (N, 3, 360, 480) f32 and (N, 360, 480) i64, on 1 and 2 worker threads.
// Counters: images/s overall and per worker. Skips when the dataset is not on this machine.
//
// Dataset: configs/datasets/camvid.json of this checkout (root ../shared/datasets/camvid), or
// $SEGCORE_SHARED/datasets/camvid.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"

using namespace segcore;
using namespace segcore::data;

namespace {

std::shared_ptr<const Dataset> camvid_train(std::string& why) {
    namespace fs = std::filesystem;
    try {
        const fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
        DatasetSpec spec;
        if (const char* shared = std::getenv("SEGCORE_SHARED")) {
            spec = dataset_preset("camvid");
            spec.name = "camvid";
            spec.root = (fs::path(shared) / "datasets" / "camvid").string();
        } else {
            spec = load_dataset_spec((repo / "configs" / "datasets" / "camvid.json").string());
        }
        if (!fs::exists(fs::path(spec.root) / "train.txt")) {
            why = "CamVid not found at " + spec.root + " (set SEGCORE_SHARED)";
            return nullptr;
        }
        return open_dataset(spec, "train");
    } catch (const std::exception& e) {
        why = std::string("CamVid unavailable: ") + e.what();
        return nullptr;
    }
}

void run_loader(benchmark::State& state, bool augment) {
    static std::string why;  // opened once for all the runs
    static const auto ds = camvid_train(why);
    if (!ds) {
        state.SkipWithError(why.c_str());
        return;
    }
    const int workers = int(state.range(0));
    LoaderOptions o;
    o.batch_size = 8;
    o.num_workers = workers;
    o.seed = 0;
    o.drop_last = true;
    Loader loader(ds, augment ? standard_train_transforms(360, 480, ds->spec().ignore_index) : eval_transforms(), o);
    int64_t epoch = 0, images = 0;
    loader.start_epoch(epoch);
    Batch b;
    for (auto _ : state) {
        if (!loader.next(b)) {
            loader.start_epoch(++epoch);
            loader.next(b);
        }
        images += b.size();
        benchmark::DoNotOptimize(b.images.data_ptr());
    }
    state.counters["images/s"] = benchmark::Counter(double(images), benchmark::Counter::kIsRate);
    state.counters["images/s/worker"] = benchmark::Counter(double(images) / workers, benchmark::Counter::kIsRate);
}

void BM_loader_camvid_standard_aug(benchmark::State& state) { run_loader(state, true); }
void BM_loader_camvid_decode_normalize(benchmark::State& state) { run_loader(state, false); }

}  // namespace

// Each iteration is one batch of 8; real time, since the work happens on the loader's threads.
BENCHMARK(BM_loader_camvid_standard_aug)->Arg(1)->Arg(2)->Iterations(40)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_loader_camvid_decode_normalize)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(40)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
