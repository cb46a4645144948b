// The threaded loader: batches independent of the worker count, epoch order and sharding, errors
// carried to the consumer, opt-in skipping, and shutdown that never hangs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "core/error.h"
#include "data/loader.h"
#include "tests/data/memory_dataset.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::MemoryDataset;

namespace {

std::shared_ptr<MemoryDataset> memory(int64_t n, std::set<int64_t> bad = {}, int slow_ms = 0) {
    return std::make_shared<MemoryDataset>(n, 12, 10, std::move(bad), slow_ms);
}

Compose augment() {
    auto j = standard_train_transforms_json(8, 9);
    j.insert(j.end() - 1, nlohmann::json{{"type", "gaussian_noise"}, {"std", 4}, {"p", 0.5}});
    j.insert(j.end() - 1, nlohmann::json{{"type", "random_rotate"}, {"degrees", 10}, {"p", 0.5}});
    return Compose::from_json(j);
}

std::vector<Batch> epoch_batches(Loader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<Batch> out;
    Batch b;
    while (loader.next(b)) out.push_back(b);
    return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.defined() != b.defined()) return false;
    if (!a.defined()) return true;
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0;
}

std::vector<int64_t> delivered(const std::vector<Batch>& batches) {
    std::vector<int64_t> out;
    for (const auto& b : batches) out.insert(out.end(), b.indices.begin(), b.indices.end());
    return out;
}

}  // namespace

TEST_CASE("loader: batches are bit-identical for any number of workers", "[data][loader]") {
    auto ds = memory(23);
    std::vector<std::vector<Batch>> runs;
    for (int workers : {0, 1, 3}) {
        LoaderOptions o;
        o.batch_size = 4;
        o.num_workers = workers;
        o.seed = 1234;
        Loader loader(ds, augment(), o);
        auto e0 = epoch_batches(loader, 0);
        auto e1 = epoch_batches(loader, 1);
        e0.insert(e0.end(), e1.begin(), e1.end());
        runs.push_back(std::move(e0));
    }
    REQUIRE(runs[0].size() == 12);  // 6 batches per epoch (23 = 5 x 4 + 3), 2 epochs
    for (size_t r = 1; r < runs.size(); ++r) {
        REQUIRE(runs[r].size() == runs[0].size());
        for (size_t i = 0; i < runs[0].size(); ++i) {
            REQUIRE(runs[r][i].indices == runs[0][i].indices);
            REQUIRE(runs[r][i].index == runs[0][i].index);
            REQUIRE(same_bits(runs[r][i].images, runs[0][i].images));
            REQUIRE(same_bits(runs[r][i].labels, runs[0][i].labels));
        }
    }
    // Augmentation really happened and differs between epochs for the same sample.
    REQUIRE(runs[0][0].images.shape() == Shape{4, 3, 8, 9});
    REQUIRE(runs[0][0].labels.shape() == Shape{4, 8, 9});
    REQUIRE(runs[0][0].labels.dtype() == DType::I64);
}

TEST_CASE("loader: batch layout is NCHW images and NHW labels", "[data][loader]") {
    auto ds = memory(5);
    LoaderOptions o;
    o.batch_size = 2;
    o.shuffle = false;
    o.num_workers = 2;
    o.label_dtype = DType::I32;
    Loader loader(ds, Compose{}, o);
    Batch b;
    REQUIRE(loader.next(b));  // starts epoch 0 by itself
    REQUIRE(b.indices == std::vector<int64_t>{0, 1});
    REQUIRE(b.ids == std::vector<std::string>{"img_0", "img_1"});
    REQUIRE(b.images.shape() == Shape{2, 3, 12, 10});
    REQUIRE(b.labels.dtype() == DType::I32);
    const Sample s = ds->get(1);
    const float* img = b.images.data<float>();
    const int32_t* lab = b.labels.data<int32_t>();
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 12; ++y)
            for (int64_t x = 0; x < 10; ++x) REQUIRE(img[((1 * 3 + c) * 12 + y) * 10 + x] == s.image.at(y, x)[c]);
    for (int64_t y = 0; y < 12; ++y)
        for (int64_t x = 0; x < 10; ++x) REQUIRE(lab[(12 + y) * 10 + x] == s.mask.at(y, x));
}

TEST_CASE("loader: drop_last", "[data][loader]") {
    auto ds = memory(10);
    for (bool drop : {false, true}) {
        LoaderOptions o;
        o.batch_size = 4;
        o.drop_last = drop;
        o.num_workers = 2;
        Loader loader(ds, Compose{}, o);
        const auto batches = epoch_batches(loader, 0);
        REQUIRE(int64_t(batches.size()) == loader.num_batches());
        REQUIRE(batches.size() == (drop ? 2u : 3u));
        REQUIRE(batches.back().size() == (drop ? 4 : 2));
        for (size_t i = 0; i < batches.size(); ++i) REQUIRE(batches[i].index == int64_t(i));
    }
}

TEST_CASE("loader: epochs reshuffle deterministically", "[data][loader]") {
    const auto e0 = Loader::epoch_order(50, 7, 0, true, 0, 1), e1 = Loader::epoch_order(50, 7, 1, true, 0, 1);
    REQUIRE(e0 != e1);
    REQUIRE(e0 == Loader::epoch_order(50, 7, 0, true, 0, 1));
    REQUIRE(e0 != Loader::epoch_order(50, 8, 0, true, 0, 1));
    for (const auto& e : {e0, e1}) {
        std::vector<int64_t> sorted = e;
        std::sort(sorted.begin(), sorted.end());
        for (int64_t i = 0; i < 50; ++i) REQUIRE(sorted[size_t(i)] == i);
    }
    const auto plain = Loader::epoch_order(5, 7, 3, false, 0, 1);
    REQUIRE(plain == std::vector<int64_t>{0, 1, 2, 3, 4});

    // The loader delivers exactly that order.
    LoaderOptions o;
    o.batch_size = 6;
    o.num_workers = 3;
    o.seed = 7;
    Loader loader(memory(50), Compose{}, o);
    REQUIRE(delivered(epoch_batches(loader, 1)) == e1);
    REQUIRE(delivered(epoch_batches(loader, 0)) == e0);
}

TEST_CASE("loader: sharding gives each rank a disjoint share covering the set", "[data][loader]") {
    SECTION("divisible: disjoint and covering") {
        std::vector<int64_t> all;
        for (int rank = 0; rank < 3; ++rank) {
            const auto mine = Loader::epoch_order(12, 5, 2, true, rank, 3);
            REQUIRE(mine.size() == 4);
            all.insert(all.end(), mine.begin(), mine.end());
        }
        std::sort(all.begin(), all.end());
        for (int64_t i = 0; i < 12; ++i) REQUIRE(all[size_t(i)] == i);
    }
    SECTION("not divisible: padded by wrapping around (DistributedSampler)") {
        const auto order = Loader::epoch_order(10, 5, 0, true, 0, 1);
        std::vector<int64_t> all;
        for (int rank = 0; rank < 4; ++rank) {
            const auto mine = Loader::epoch_order(10, 5, 0, true, rank, 4);
            REQUIRE(mine.size() == 3);
            for (size_t k = 0; k < mine.size(); ++k) REQUIRE(mine[k] == order[(size_t(rank) + k * 4) % 10]);
            all.insert(all.end(), mine.begin(), mine.end());
        }
        REQUIRE(std::set<int64_t>(all.begin(), all.end()).size() == 10);  // every sample, 2 twice
        REQUIRE(all.size() == 12);
    }
    SECTION("the loader uses the rank's share") {
        LoaderOptions o;
        o.batch_size = 2;
        o.world_size = 3;
        o.rank = 1;
        o.num_workers = 2;
        Loader loader(memory(8), Compose{}, o);
        REQUIRE(loader.num_samples() == 3);
        REQUIRE(loader.num_batches() == 2);
        REQUIRE(delivered(epoch_batches(loader, 4)) == Loader::epoch_order(8, 0, 4, true, 1, 3));
    }
    REQUIRE_THROWS_WITH(Loader::epoch_order(8, 0, 0, true, 3, 3), Catch::Contains("rank 3"));
}

TEST_CASE("loader: a bad sample is reported at its batch, naming the file", "[data][loader]") {
    for (int workers : {0, 1, 3}) {
        LoaderOptions o;
        o.batch_size = 4;
        o.shuffle = false;
        o.num_workers = workers;
        Loader loader(memory(12, {5}), Compose{}, o);
        loader.start_epoch(0);
        Batch b;
        REQUIRE(loader.next(b));
        REQUIRE(b.index == 0);
        REQUIRE_THROWS_WITH(loader.next(b), Catch::Contains("mem/img_5.png") && Catch::Contains("truncated PNG") &&
                                                Catch::Contains("batch 1") && Catch::Contains("sample 5"));
        REQUIRE(loader.next(b));  // the consumer may go on: nothing hangs, nothing is lost silently
        REQUIRE(b.index == 2);
        REQUIRE_FALSE(loader.next(b));
        REQUIRE(loader.skipped_samples() == 0);
    }
}

TEST_CASE("loader: transform errors name the sample's file", "[data][loader]") {
    auto ds = memory(4);
    LoaderOptions o;
    o.batch_size = 2;
    o.num_workers = 1;
    // A grey normalisation on RGB images: fails inside the transforms, after the file was read.
    Loader loader(
        ds, Compose::from_json(nlohmann::json::parse(R"([{"type": "normalize", "mean": [0.5, 0.5], "std": [1, 1]}])")),
        o);
    Batch b;
    REQUIRE_THROWS_WITH(loader.next(b), Catch::Contains("mem/img_") && Catch::Contains("normalize"));
}

TEST_CASE("loader: skip_bad_samples drops, counts and reports", "[data][loader]") {
    for (int workers : {0, 2}) {
        LoaderOptions o;
        o.batch_size = 4;
        o.shuffle = false;
        o.num_workers = workers;
        o.skip_bad_samples = true;
        Loader loader(memory(14, {1, 5, 8, 9, 10, 11}), Compose{}, o);
        const auto batches = epoch_batches(loader, 0);
        REQUIRE(batches.size() == 3);  // batch 2 (8..11) had nothing left and is not delivered
        REQUIRE(batches[0].indices == std::vector<int64_t>{0, 2, 3});
        REQUIRE(batches[1].indices == std::vector<int64_t>{4, 6, 7});
        REQUIRE(batches[2].indices == std::vector<int64_t>{12, 13});
        REQUIRE(batches[0].images.size(0) == 3);
        REQUIRE(loader.skipped_samples() == 6);
        const auto msgs = loader.skip_messages();
        REQUIRE(msgs.size() == 6);
        REQUIRE_THAT(msgs[0], Catch::Contains("mem/img_1.png"));
        REQUIRE_THAT(msgs[1], Catch::Contains("mem/img_5.png"));
    }
}

TEST_CASE("loader: samples of different sizes in one batch are an error that says what to do", "[data][loader]") {
    auto ds = memory(4);
    ds->vary_ = true;
    LoaderOptions o;
    o.batch_size = 2;
    o.shuffle = false;
    o.num_workers = 0;
    Loader loader(ds, Compose{}, o);
    Batch b;
    REQUIRE_THROWS_WITH(loader.next(b), Catch::Contains("img_1") && Catch::Contains("random_crop"));
}

TEST_CASE("loader: stopping early never hangs", "[data][loader]") {
    auto slow = memory(64, {}, 2);
    SECTION("destroyed after one batch with the queue full") {
        LoaderOptions o;
        o.batch_size = 2;
        o.num_workers = 3;
        o.prefetch = 2;
        Loader loader(slow, augment(), o);
        Batch b;
        REQUIRE(loader.next(b));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let the workers fill the queue
    }
    SECTION("destroyed before any batch was asked for") {
        LoaderOptions o;
        o.num_workers = 4;
        Loader loader(slow, Compose{}, o);
        loader.start_epoch(0);
    }
    SECTION("destroyed without an epoch") {
        LoaderOptions o;
        o.num_workers = 2;
        Loader loader(slow, Compose{}, o);
    }
    SECTION("an epoch restarted midway starts from its first batch") {
        LoaderOptions o;
        o.batch_size = 4;
        o.num_workers = 3;
        o.shuffle = false;
        Loader loader(slow, Compose{}, o);
        Batch b;
        loader.start_epoch(0);
        REQUIRE(loader.next(b));
        REQUIRE(loader.next(b));
        loader.start_epoch(0);
        REQUIRE(loader.next(b));
        REQUIRE(b.index == 0);
        REQUIRE(b.indices == std::vector<int64_t>{0, 1, 2, 3});
    }
    SECTION("after an error") {
        LoaderOptions o;
        o.batch_size = 2;
        o.num_workers = 3;
        Loader loader(memory(40, {0, 1, 2, 3, 4, 5}, 1), Compose{}, o);
        Batch b;
        try {
            while (loader.next(b)) {
            }
        } catch (const Error&) {
        }
    }
}

TEST_CASE("loader: options are validated", "[data][loader]") {
    auto ds = memory(4);
    LoaderOptions o;
    o.batch_size = 0;
    REQUIRE_THROWS_WITH(Loader(ds, Compose{}, o), Catch::Contains("batch_size"));
    o.batch_size = 2;
    o.label_dtype = DType::F32;
    REQUIRE_THROWS_WITH(Loader(ds, Compose{}, o), Catch::Contains("label_dtype"));
    o.label_dtype = DType::I64;
    if (!cuda_compiled()) {
        o.device = Device::cuda(0);
        REQUIRE_THROWS_WITH(Loader(ds, Compose{}, o), Catch::Contains("no CUDA backend"));
    }
}

TEST_CASE("loader: empty_pinned gives a usable CPU tensor", "[data][loader]") {
    Tensor t = empty_pinned({3, 5}, DType::F32);
    REQUIRE(t.is_cpu());
    REQUIRE(t.is_contiguous());
    t.fill_(2.5);
    REQUIRE(t.get_double(14) == 2.5);
    REQUIRE(empty_pinned({0}, DType::I64).numel() == 0);
}
