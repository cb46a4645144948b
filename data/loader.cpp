// The threaded batch loader (see loader.h for the design).
#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "core/allocator.h"
#include "core/error.h"
#include "core/stream.h"

namespace segcore::data {

// A batch as a worker made it (host memory), or the error that stopped it.
struct Loader::Produced {
    Batch batch;
    bool failed = false;
    std::string error;                 // when failed: what went wrong, naming the sample
    std::vector<std::string> skipped;  // with skip_bad_samples: one message per dropped sample
};

struct Loader::State {
    std::mutex mu;
    std::condition_variable work_cv;   // workers wait here for a batch to claim
    std::condition_variable ready_cv;  // the consumer waits here for the next batch in order
    bool stop = false;
    int64_t generation = 0;  // bumped by start_epoch: results of an older epoch are dropped
    int64_t epoch = 0;
    std::vector<std::vector<int64_t>> batches;  // dataset indices of each batch of the epoch
    int64_t next_claim = 0, next_deliver = 0;
    std::map<int64_t, Produced> ready;  // reorder buffer: batch index -> result
    std::vector<std::thread> threads;
    int64_t skipped = 0;
    std::vector<std::string> skip_messages;
};

// Pinned host blocks reused across batches. cudaHostAlloc/cudaFreeHost are slow and cudaFreeHost
// synchronises the device, so blocks go back to a free list when their tensor dies, tagged with
// the event recorded behind their host-to-device copy; a worker taking a block waits for that
// event before overwriting it.
struct Loader::PinnedPool : std::enable_shared_from_this<Loader::PinnedPool> {
    struct Block {
        void* p = nullptr;
        size_t nbytes = 0;
        std::shared_ptr<Event> copied;
    };
    std::mutex mu;
    std::vector<Block> free;
    std::map<void*, std::shared_ptr<Event>> events;  // copies in flight from blocks in use
    size_t max_free = 8;

    ~PinnedPool() {
        for (Block& b : free) {
            try {
                if (b.copied) b.copied->synchronize();
            } catch (const std::exception& e) {
                detail::log_error(__FILE__, __LINE__, e.what());  // destructors log, never throw
            }
            pinned_deallocate(b.p);
        }
    }

    Tensor take(const Shape& shape, DType dtype) {
        const size_t need = std::max<size_t>(size_t(shape_numel(shape)) * dtype_size(dtype), 1);
        Block b;
        {
            std::lock_guard<std::mutex> lock(mu);
            auto best = free.end();
            for (auto it = free.begin(); it != free.end(); ++it)
                if (it->nbytes >= need && (best == free.end() || it->nbytes < best->nbytes)) best = it;
            if (best != free.end()) {
                b = *best;
                free.erase(best);
            }
        }
        if (b.p) {
            if (b.copied) b.copied->synchronize();
            b.copied.reset();
        } else {
            b.p = pinned_allocate(need);
            b.nbytes = need;
        }
        auto self = shared_from_this();
        const size_t nbytes = b.nbytes;
        auto storage = std::make_shared<StorageImpl>(b.p, nbytes, Device::cpu(),
                                                     [self, nbytes](void* p) { self->give_back(p, nbytes); });
        return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
    }

    // The consumer queued a copy out of `host` on stream s.
    void record_copy(const Tensor& host, Stream s) {
        auto e = std::make_shared<Event>();
        e->record(s);
        std::lock_guard<std::mutex> lock(mu);
        events[host.storage()->data()] = std::move(e);
    }

    void give_back(void* p, size_t nbytes) noexcept {
        std::shared_ptr<Event> e;
        {
            std::lock_guard<std::mutex> lock(mu);
            auto it = events.find(p);
            if (it != events.end()) {
                e = std::move(it->second);
                events.erase(it);
            }
            if (free.size() < max_free) {
                free.push_back({p, nbytes, std::move(e)});
                return;
            }
        }
        try {
            if (e) e->synchronize();
        } catch (const std::exception& ex) {
            detail::log_error(__FILE__, __LINE__, ex.what());
        }
        pinned_deallocate(p);
    }
};

// ---------------------------------------------------------------- order

std::vector<int64_t> Loader::epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle, int rank,
                                         int world_size) {
    SEGCORE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "loader: rank ", rank,
                  " is not in [0, world_size ", world_size, ")");
    std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    if (shuffle && n > 1) {
        // Its own Philox key (the seed tagged "shuffle"), so it never overlaps a sample's stream.
        SampleRng rng(seed ^ 0x53485546464c45ULL, epoch, 0);
        for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i + 1))]);
    }
    if (world_size == 1 || n == 0) return order;
    // DistributedSampler: pad by wrapping around to a multiple of world_size, then stride.
    const int64_t per_rank = (n + world_size - 1) / world_size;
    std::vector<int64_t> mine;
    mine.reserve(size_t(per_rank));
    for (int64_t k = 0; k < per_rank; ++k) mine.push_back(order[size_t((rank + k * world_size) % n)]);
    return mine;
}

// ---------------------------------------------------------------- lifecycle

Loader::Loader(std::shared_ptr<const Dataset> dataset, Compose transforms, LoaderOptions options)
    : dataset_(std::move(dataset)),
      transforms_(std::move(transforms)),
      opt_(options),
      state_(std::make_unique<State>()) {
    SEGCORE_CHECK(dataset_, "loader: no dataset");
    SEGCORE_CHECK(opt_.batch_size >= 1, "loader: batch_size must be at least 1, got ", opt_.batch_size);
    SEGCORE_CHECK(opt_.num_workers >= 0, "loader: num_workers must not be negative, got ", opt_.num_workers);
    SEGCORE_CHECK(opt_.prefetch >= 0, "loader: prefetch must not be negative, got ", opt_.prefetch);
    SEGCORE_CHECK(opt_.world_size >= 1 && opt_.rank >= 0 && opt_.rank < opt_.world_size, "loader: rank ", opt_.rank,
                  " is not in [0, world_size ", opt_.world_size, ")");
    SEGCORE_CHECK(opt_.label_dtype == DType::I64 || opt_.label_dtype == DType::I32,
                  "loader: label_dtype must be i64 or i32, got ", dtype_name(opt_.label_dtype));
    if (opt_.device.is_cuda()) require_cuda("loader delivering to a CUDA device");
    if (opt_.prefetch == 0) opt_.prefetch = std::max<int64_t>(2, 2 * int64_t(opt_.num_workers));
    if (opt_.device.is_cuda() && opt_.pin_memory) {
        pool_ = std::make_shared<PinnedPool>();
        pool_->max_free = size_t(opt_.prefetch + opt_.num_workers + 2) * 2;  // images + labels per batch
    }
    for (int w = 0; w < opt_.num_workers; ++w) state_->threads.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->stop = true;
    }
    state_->work_cv.notify_all();
    for (auto& t : state_->threads)
        if (t.joinable()) t.join();
    state_->ready.clear();  // returns pinned blocks to the pool before it goes
}

int64_t Loader::num_samples() const {
    const int64_t n = dataset_->size();
    return opt_.world_size == 1 ? n : (n + opt_.world_size - 1) / opt_.world_size;
}

int64_t Loader::num_batches() const {
    const int64_t n = num_samples();
    return opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
}

int64_t Loader::skipped_samples() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->skipped;
}

std::vector<std::string> Loader::skip_messages() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->skip_messages;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
    SEGCORE_CHECK(epoch >= 0, "loader: epoch must not be negative, got ", epoch);
    SEGCORE_CHECK(first_batch >= 0, "loader: first_batch must not be negative, got ", first_batch);
    const auto order = epoch_order(dataset_->size(), opt_.seed, epoch, opt_.shuffle, opt_.rank, opt_.world_size);
    std::vector<std::vector<int64_t>> batches;
    for (size_t i = 0; i < order.size(); i += size_t(opt_.batch_size)) {
        const size_t end = std::min(order.size(), i + size_t(opt_.batch_size));
        if (opt_.drop_last && int64_t(end - i) < opt_.batch_size) break;
        batches.emplace_back(order.begin() + int64_t(i), order.begin() + int64_t(end));
    }
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        ++state_->generation;
        state_->epoch = epoch;
        state_->batches = std::move(batches);
        // Resuming mid-epoch: the skipped batches are never loaded; the rest are the same batches
        // (same samples, same per-sample random draws) an uninterrupted epoch would deliver.
        state_->next_claim = state_->next_deliver = std::min(first_batch, int64_t(state_->batches.size()));
        state_->ready.clear();
    }
    epoch_ = epoch;
    state_->work_cv.notify_all();
}

// ---------------------------------------------------------------- workers

void Loader::worker_loop() {
    State& st = *state_;
    std::unique_lock<std::mutex> lock(st.mu);
    for (;;) {
        st.work_cv.wait(lock, [&] {
            return st.stop ||
                   (st.next_claim < int64_t(st.batches.size()) && st.next_claim < st.next_deliver + opt_.prefetch);
        });
        if (st.stop) return;
        const int64_t b = st.next_claim++, generation = st.generation, epoch = st.epoch;
        const std::vector<int64_t> indices = st.batches[size_t(b)];
        lock.unlock();
        Produced p = produce(epoch, b, indices);
        lock.lock();
        if (generation != st.generation) continue;  // the epoch was restarted meanwhile
        st.ready.emplace(b, std::move(p));
        st.ready_cv.notify_all();
    }
}

namespace {
std::string sample_name(int64_t index, const Sample* s) {
    std::string out = "sample " + std::to_string(index);
    if (s && !s->image_path.empty())
        out += " (" + s->image_path + (s->mask_path.empty() ? "" : ", " + s->mask_path) + ")";
    return out;
}
}  // namespace

// Loads, transforms and collates one batch. Never throws: failures travel in the result.
Loader::Produced Loader::produce(int64_t epoch, int64_t b, const std::vector<int64_t>& indices) const {
    Produced out;
    const std::string where = "loader: batch " + std::to_string(b) + " of epoch " + std::to_string(epoch) + ": ";
    try {
        std::vector<Sample> samples;
        samples.reserve(indices.size());
        for (int64_t idx : indices) {
            Sample s;
            bool got = false;
            try {
                s = dataset_->get(idx);
                got = true;
                SampleRng rng(opt_.seed, epoch, idx);
                transforms_.apply(s, rng);
                SEGCORE_CHECK(
                    s.mask.labels.empty() || (s.mask.height == s.image.height && s.mask.width == s.image.width),
                    "the mask is ", s.mask.height, "x", s.mask.width, " but the image ", s.image.height, "x",
                    s.image.width);
            } catch (const std::exception& e) {
                const std::string msg = sample_name(idx, got ? &s : nullptr) + ": " + e.what();
                if (!opt_.skip_bad_samples) {
                    out.failed = true;
                    out.error = where + msg;
                    return out;
                }
                out.skipped.push_back(msg);
                continue;
            }
            out.batch.indices.push_back(idx);
            out.batch.ids.push_back(s.id);
            samples.push_back(std::move(s));
        }
        out.batch.epoch = epoch;
        out.batch.index = b;
        if (samples.empty()) return out;

        // Collate: every sample must have the first one's size (crop or resize in the pipeline).
        const Sample& first = samples.front();
        const int64_t n = int64_t(samples.size()), c = first.image.channels, h = first.image.height,
                      w = first.image.width;
        const bool masks = !first.mask.labels.empty();
        for (size_t i = 1; i < samples.size(); ++i) {
            const Sample& s = samples[i];
            SEGCORE_CHECK(s.image.channels == c && s.image.height == h && s.image.width == w, where, "sample '", s.id,
                          "' is ", s.image.height, "x", s.image.width, "x", s.image.channels,
                          " after the transforms but '", first.id, "' is ", h, "x", w, "x", c,
                          "; a batch needs one size: add a random_crop or resize, or use batch_size 1");
            SEGCORE_CHECK(s.mask.labels.empty() != masks, where, "sample '", s.id, "' ",
                          masks ? "has no mask" : "has a mask", " but '", first.id, "' ",
                          masks ? "has one" : "has none");
        }
        const bool pinned = pool_ != nullptr;
        Tensor images = pinned ? pool_->take({n, c, h, w}, DType::F32) : empty({n, c, h, w}, DType::F32);
        float* ip = images.data<float>();
        const int64_t plane = h * w;
        for (int64_t i = 0; i < n; ++i) {
            const float* src = samples[size_t(i)].image.pixels.data();
            float* dst = ip + i * c * plane;
            for (int64_t p = 0; p < plane; ++p)
                for (int64_t k = 0; k < c; ++k) dst[k * plane + p] = src[p * c + k];
        }
        out.batch.images = images;
        if (masks) {
            Tensor labels = pinned ? pool_->take({n, h, w}, opt_.label_dtype) : empty({n, h, w}, opt_.label_dtype);
            for (int64_t i = 0; i < n; ++i) {
                const auto& src = samples[size_t(i)].mask.labels;
                if (opt_.label_dtype == DType::I64)
                    std::copy(src.begin(), src.end(), labels.data<int64_t>() + i * plane);
                else
                    std::copy(src.begin(), src.end(), labels.data<int32_t>() + i * plane);
            }
            out.batch.labels = labels;
        }
    } catch (const std::exception& e) {
        out.failed = true;
        out.error = where + e.what();
    } catch (...) {
        out.failed = true;
        out.error = where + "unknown exception";
    }
    return out;
}

// ---------------------------------------------------------------- consumer

Batch Loader::deliver(Produced&& p) {
    Batch b = std::move(p.batch);
    if (opt_.device.is_cpu()) return b;
    // Allocated and copied on the current stream: kernels the caller queues next on that stream are
    // ordered after the copy. From pinned memory the copy is asynchronous; the event recorded
    // behind it keeps the block from being refilled before the copy has read it.
    const Stream s = current_stream();
    Tensor images = b.images.to(opt_.device);
    if (pool_) pool_->record_copy(b.images, s);
    b.images = images;
    if (b.labels.defined()) {
        Tensor labels = b.labels.to(opt_.device);
        if (pool_) pool_->record_copy(b.labels, s);
        b.labels = labels;
    }
    return b;
}

bool Loader::next(Batch& out) {
    if (epoch_ < 0) start_epoch(0);
    State& st = *state_;
    for (;;) {
        Produced p;
        if (opt_.num_workers == 0) {
            if (st.next_deliver >= int64_t(st.batches.size())) return false;
            const int64_t b = st.next_deliver++;
            p = produce(st.epoch, b, st.batches[size_t(b)]);
        } else {
            std::unique_lock<std::mutex> lock(st.mu);
            if (st.next_deliver >= int64_t(st.batches.size())) return false;
            st.ready_cv.wait(lock, [&] { return st.ready.count(st.next_deliver) > 0; });
            auto it = st.ready.find(st.next_deliver);
            p = std::move(it->second);
            st.ready.erase(it);
            ++st.next_deliver;
            lock.unlock();
            st.work_cv.notify_all();
        }
        if (!p.skipped.empty()) {
            std::lock_guard<std::mutex> lock(st.mu);
            for (auto& msg : p.skipped) {
                std::fprintf(stderr, "segcore: loader: skipped bad %s\n", msg.c_str());
                ++st.skipped;
                st.skip_messages.push_back(std::move(msg));
            }
        }
        if (p.failed) SEGCORE_THROW(p.error);
        if (p.batch.indices.empty()) continue;  // every sample of this batch was skipped
        out = deliver(std::move(p));
        return true;
    }
}

}  // namespace segcore::data
