#pragma once
// CUDA streams and events without CUDA types in the interface (a Stream is an opaque handle), so
// CPU-only code and kernel declarations can name them. In a CPU build every call that needs a
// device throws "this build has no CUDA backend".
#include <cstdint>

namespace segcore {

struct Stream {
    void* handle = nullptr;  // cudaStream_t; nullptr is the device's default (legacy) stream
    int device = 0;
    bool operator==(const Stream& o) const { return handle == o.handle && device == o.device; }
};

int current_device();
void set_device(int index);
// The stream kernels launch on from this thread (default: the device's default stream).
Stream current_stream();
void set_current_stream(Stream s);
Stream stream_create(int device);  // non-blocking with respect to the default stream
void stream_destroy(Stream s) noexcept;
void stream_synchronize(Stream s);
void device_synchronize();

// RAII: makes a stream current for a scope and restores the previous one.
class StreamGuard {
public:
    explicit StreamGuard(Stream s) : prev_(current_stream()) { set_current_stream(s); }
    ~StreamGuard() { set_current_stream(prev_); }
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    Stream prev_;
};

// A CUDA event with timing enabled.
class Event {
public:
    Event();
    ~Event();
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    void record(Stream s);
    void synchronize();
    bool query() const;                       // true when the recorded work has finished
    float elapsed_ms(const Event& end) const;  // time from this event to `end`
    void* handle() const { return handle_; }

private:
    void* handle_ = nullptr;
};

// Debug mode: synchronise after every kernel launch so an asynchronous error is reported at the
// launch that caused it. Off by default; on when SEGCORE_SYNC_LAUNCHES=1 is in the environment.
bool sync_after_launch();
void set_sync_after_launch(bool on);

}  // namespace segcore
