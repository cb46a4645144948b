#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace segcore {

namespace {

thread_local bool t_in_worker = false;

// A minimal pool: parallel_for hands each worker one chunk index range and waits for all.
class ThreadPool {
public:
    explicit ThreadPool(int n) { resize(n); }
    ~ThreadPool() { stop(); }

    int size() const { return int(workers_.size()) + 1; }  // the caller is a worker too

    void resize(int n) {
        std::lock_guard<std::mutex> run_lock(run_mu_);  // not while a parallel region is running
        stop();
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = false;
        // New workers start at the current generation; starting from 0 would make them run the
        // last (finished) region's task again.
        const uint64_t gen = generation_;
        for (int i = 0; i < n - 1; ++i) workers_.emplace_back([this, i, gen] { loop(i + 1, gen); });
    }

    // Runs task(k) for k in [0, nchunks), chunk 0 on the calling thread.
    void run(int nchunks, const std::function<void(int)>& task) {
        std::unique_lock<std::mutex> lock(run_mu_);  // one parallel region at a time
        {
            std::lock_guard<std::mutex> l(mu_);
            task_ = &task;
            nchunks_ = nchunks;
            pending_ = nchunks - 1;
            error_ = nullptr;
            ++generation_;
        }
        cv_.notify_all();
        t_in_worker = true;
        try {
            task(0);
        } catch (...) {
            std::lock_guard<std::mutex> l(mu_);
            if (!error_) error_ = std::current_exception();
        }
        t_in_worker = false;
        std::unique_lock<std::mutex> l(mu_);
        done_cv_.wait(l, [&] { return pending_ == 0; });
        task_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void loop(int id, uint64_t seen) {
        t_in_worker = true;
        for (;;) {
            std::unique_lock<std::mutex> l(mu_);
            cv_.wait(l, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            const int nchunks = nchunks_;
            const std::function<void(int)>* task = task_;
            l.unlock();
            if (id < nchunks) {
                try {
                    (*task)(id);
                } catch (...) {
                    std::lock_guard<std::mutex> g(mu_);
                    if (!error_) error_ = std::current_exception();
                }
                std::lock_guard<std::mutex> g(mu_);
                if (--pending_ == 0) done_cv_.notify_one();
            }
        }
    }
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
        workers_.clear();
    }

    std::vector<std::thread> workers_;
    std::mutex mu_, run_mu_;
    std::condition_variable cv_, done_cv_;
    const std::function<void(int)>* task_ = nullptr;
    int nchunks_ = 0, pending_ = 0;
    uint64_t generation_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

int default_threads() {
    if (const char* env = std::getenv("SEGCORE_NUM_THREADS")) {
        const int n = std::atoi(env);
        if (n > 0) return n;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& pool() {
    static ThreadPool* p = new ThreadPool(default_threads());  // leaked: workers may outlive statics
    return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
    SEGCORE_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
    pool().resize(n);
}

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (end <= begin) return;
    const int64_t n = end - begin;
    grain = std::max<int64_t>(grain, 1);
    // Round the chunk count down so that every chunk holds at least `grain` elements.
    const int64_t max_chunks = std::min<int64_t>(num_threads(), n / grain);
    if (max_chunks <= 1 || t_in_worker) {
        fn(begin, end);
        return;
    }
    const int nchunks = int(max_chunks);
    const int64_t step = (n + nchunks - 1) / nchunks;
    pool().run(nchunks, [&](int k) {
        const int64_t b = begin + k * step, e = std::min(end, b + step);
        if (b < e) fn(b, e);
    });
}

}  // namespace segcore
