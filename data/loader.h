#pragma once
// Loader: turns a Dataset and a transform pipeline into batches of core Tensors.
//
//   images  (N, C, H, W) f32, after the transforms (normally normalised)
//   labels  (N, H, W)    i64 by default: the class index per pixel, ignore_index where ignored —
//                         the dtype cross-entropy losses expect (i32 on request)
//
// Design (docs/data_pipeline.md):
// - Epoch order: a permutation of the dataset drawn from Philox keyed by (seed, epoch) when
//   shuffling, identity otherwise; the same on every rank. Sharding follows PyTorch's
//   DistributedSampler: the order is padded by wrapping around to a multiple of world_size, and
//   rank r takes positions r, r + world, r + 2 world, ... (disjoint, together covering the set).
// - Each sample's transforms draw from SampleRng(seed, epoch, dataset index), so a batch does not
//   depend on the number of workers or on which worker loaded it: 1 or 8 workers give
//   bit-identical batches.
// - num_workers threads each take the next batch index, load, transform and collate it, and put it
//   in a reorder buffer; next() hands batches out strictly in order. At most `prefetch` batches
//   are ahead of the consumer (a bounded queue: memory stays flat when the consumer is slow).
//   num_workers = 0 loads on the calling thread.
// - Bad samples: an exception from a sample (unreadable file, wrong size, ...) is carried to the
//   consumer and rethrown by next() at that batch, naming the sample and its file; nothing is
//   skipped silently. With skip_bad_samples the sample is dropped instead (its batch is one
//   shorter), counted in skipped_samples() and reported in skip_messages() and on stderr.
// - Device: for a CUDA device, batches are collated into pinned host buffers (a pool reused
//   across batches) and next() starts an asynchronous host-to-device copy on the current stream;
//   kernels queued after it on that stream see the data. A buffer is reused only after an event
//   recorded behind its copy has completed.
// - Shutdown: the destructor stops the workers and joins them, whatever state the consumer left
//   the epoch in (never blocks on a full queue).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace segcore::data {

struct LoaderOptions {
    int64_t batch_size = 8;
    int num_workers = 2;   // 0 = load on the calling thread
    int64_t prefetch = 0;  // batches ready ahead of the consumer; 0 = 2 per worker (at least 2)
    bool shuffle = true;
    bool drop_last = false;  // drop this rank's last, incomplete batch
    uint64_t seed = 0;
    int rank = 0, world_size = 1;
    bool skip_bad_samples = false;
    Device device = Device::cpu();   // where next() delivers the batch
    bool pin_memory = true;          // for a CUDA device: collate into pinned buffers (async copies)
    DType label_dtype = DType::I64;  // I64 or I32
};

struct Batch {
    Tensor images;                 // (N, C, H, W) f32
    Tensor labels;                 // (N, H, W) label_dtype; undefined when the dataset has no masks
    std::vector<int64_t> indices;  // dataset index of each row
    std::vector<std::string> ids;  // Sample::id of each row
    int64_t epoch = 0, index = 0;  // batch `index` of this rank's epoch
    int64_t size() const { return int64_t(indices.size()); }
};

class Loader {
public:
    Loader(std::shared_ptr<const Dataset> dataset, Compose transforms, LoaderOptions options);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    // Starts (or restarts) an epoch: draws its order and lets the workers prefetch. Batches of an
    // abandoned epoch are discarded. first_batch > 0 starts the epoch at that batch (exact resume of
    // an interrupted epoch); past the end, the epoch is empty.
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    // The next batch of the current epoch in order, or false at its end. Rethrows a worker's error.
    // Starts epoch 0 if no epoch was started.
    bool next(Batch& out);

    int64_t epoch() const { return epoch_; }
    int64_t num_samples() const;  // this rank's samples per epoch (after padding)
    int64_t num_batches() const;  // this rank's batches per epoch
    int64_t skipped_samples() const;
    std::vector<std::string> skip_messages() const;
    const LoaderOptions& options() const { return opt_; }

    // The sample order of one epoch for one rank (dataset indices), as the loader uses it.
    static std::vector<int64_t> epoch_order(int64_t dataset_size, uint64_t seed, int64_t epoch, bool shuffle, int rank,
                                            int world_size);

private:
    struct State;
    struct PinnedPool;
    struct Produced;
    Produced produce(int64_t epoch, int64_t batch_index, const std::vector<int64_t>& indices) const;
    void worker_loop();
    Batch deliver(Produced&& p);

    std::shared_ptr<const Dataset> dataset_;
    Compose transforms_;
    LoaderOptions opt_;
    int64_t epoch_ = -1;
    std::unique_ptr<State> state_;
    std::shared_ptr<PinnedPool> pool_;
};

}  // namespace segcore::data
