// The C API (seg/runtime/segcore_c.h) over runtime::Session: every entry point catches everything,
// so no exception crosses into C, and keeps the message in a thread-local string.
#include <new>
#include <string>

#include "seg/runtime/segcore_c.h"
#include "seg/runtime/segcore_runtime.h"

struct segcore_session {
    segcore::runtime::Session session;
};

namespace {

thread_local std::string t_last_error;

segcore_status fail(segcore_status status, const std::string& message) {
    t_last_error = message;
    return status;
}

// Runs f, mapping exceptions to statuses; f returns nothing.
template <typename F>
segcore_status guarded(F&& f) {
    using segcore::runtime::ErrorCode;
    try {
        f();
        return SEGCORE_OK;
    } catch (const segcore::runtime::Error& e) {
        switch (e.code()) {
            case ErrorCode::InvalidArgument:
                return fail(SEGCORE_ERROR_INVALID_ARGUMENT, e.what());
            case ErrorCode::Model:
                return fail(SEGCORE_ERROR_MODEL, e.what());
            case ErrorCode::Runtime:
                return fail(SEGCORE_ERROR_RUNTIME, e.what());
        }
        return fail(SEGCORE_ERROR_INTERNAL, e.what());
    } catch (const std::bad_alloc&) {
        return fail(SEGCORE_ERROR_INTERNAL, "out of host memory");
    } catch (const std::exception& e) {
        return fail(SEGCORE_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(SEGCORE_ERROR_INTERNAL, "unknown error");
    }
}

segcore_status null_argument(const char* function, const char* argument) {
    return fail(SEGCORE_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + argument + " is NULL");
}

}  // namespace

extern "C" {

void segcore_session_options_init(segcore_session_options* options) {
    if (!options) return;
    options->device = "cpu";
    options->threads = 0;
    options->precision = SEGCORE_F32;
    options->max_batch = 1;
    options->allow_nonfinite = 0;
}

segcore_status segcore_session_open(const char* model_path, const segcore_session_options* options,
                                    segcore_session** session) {
    if (!session) return null_argument("segcore_session_open", "session");
    *session = nullptr;
    if (!model_path) return null_argument("segcore_session_open", "model_path");
    return guarded([&] {
        segcore::runtime::SessionOptions o;
        if (options) {
            if (options->device) o.device = options->device;
            o.threads = options->threads;
            if (options->precision < SEGCORE_F32 || options->precision > SEGCORE_BF16)
                throw segcore::runtime::Error(
                    segcore::runtime::ErrorCode::InvalidArgument,
                    "segcore_session_open: unknown precision " + std::to_string(int(options->precision)));
            o.precision = segcore::runtime::Precision(int(options->precision));
            o.max_batch = options->max_batch;
            o.allow_nonfinite = options->allow_nonfinite != 0;
        }
        *session = new segcore_session{segcore::runtime::Session(model_path, o)};
    });
}

void segcore_session_close(segcore_session* session) { delete session; }

segcore_status segcore_session_num_classes(const segcore_session* session, int64_t* num_classes) {
    if (!session) return null_argument("segcore_session_num_classes", "session");
    if (!num_classes) return null_argument("segcore_session_num_classes", "num_classes");
    *num_classes = session->session.num_classes();
    return SEGCORE_OK;
}

segcore_status segcore_session_image_channels(const segcore_session* session, int* channels) {
    if (!session) return null_argument("segcore_session_image_channels", "session");
    if (!channels) return null_argument("segcore_session_image_channels", "channels");
    *channels = session->session.image_channels();
    return SEGCORE_OK;
}

segcore_status segcore_session_class_name(const segcore_session* session, int64_t index, const char** name) {
    if (!session) return null_argument("segcore_session_class_name", "session");
    if (!name) return null_argument("segcore_session_class_name", "name");
    const auto& names = session->session.class_names();
    if (index < 0 || index >= int64_t(names.size()))
        return fail(SEGCORE_ERROR_INVALID_ARGUMENT, "segcore_session_class_name: index " + std::to_string(index) +
                                                        " is outside 0.." + std::to_string(names.size() - 1));
    *name = names[size_t(index)].c_str();
    return SEGCORE_OK;
}

segcore_status segcore_run(const segcore_session* session, const segcore_image* image, const segcore_outputs* outputs) {
    if (!session) return null_argument("segcore_run", "session");
    if (!image) return null_argument("segcore_run", "image");
    if (!outputs) return null_argument("segcore_run", "outputs");
    if (image->format < SEGCORE_RGB8 || image->format > SEGCORE_F32NCHW)
        return fail(SEGCORE_ERROR_INVALID_ARGUMENT,
                    "segcore_run: unknown pixel format " + std::to_string(int(image->format)));
    return guarded([&] {
        const segcore::runtime::ImageView view{image->data, image->height, image->width,
                                               segcore::runtime::PixelFormat(int(image->format)), image->row_stride};
        const segcore::runtime::OutputBuffers b{outputs->labels_u8, outputs->labels_u16, outputs->probabilities,
                                                outputs->logits,    outputs->confidence, outputs->entropy};
        session->session.run(view, b);
    });
}

const char* segcore_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
