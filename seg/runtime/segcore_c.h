/* segcore's embedding runtime as a C API, for C, Python (ctypes), Rust, Go: the same Session as
 * seg/runtime/segcore_runtime.h behind opaque handles. No function lets an exception out; each
 * returns a status, and segcore_last_error() gives the message of the calling thread's last failure.
 *
 *   segcore_session* s = NULL;
 *   if (segcore_session_open("best_model.safetensors", NULL, &s) != SEGCORE_OK)
 *       fprintf(stderr, "%s\n", segcore_last_error());
 *   segcore_image img = {pixels, height, width, SEGCORE_RGB8, 0};
 *   segcore_outputs out = {0};
 *   out.labels_u8 = labels;                 // height * width bytes, caller-owned
 *   segcore_run(s, &img, &out);
 *   segcore_session_close(s);
 *
 * segcore_run may be called from several threads at once on one session (docs/runtime.md). */
#ifndef SEGCORE_C_H
#define SEGCORE_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum segcore_status {
    SEGCORE_OK = 0,
    SEGCORE_ERROR_INVALID_ARGUMENT = 1, /* NULL argument, wrong channels, empty image, bad option */
    SEGCORE_ERROR_MODEL = 2,            /* missing, corrupt or incompatible model file */
    SEGCORE_ERROR_RUNTIME = 3,          /* inference failed: image too small, device error */
    SEGCORE_ERROR_INTERNAL = 4          /* anything else (out of host memory, a bug) */
} segcore_status;

typedef enum segcore_precision { SEGCORE_F32 = 0, SEGCORE_F16 = 1, SEGCORE_BF16 = 2 } segcore_precision;

typedef enum segcore_pixel_format {
    SEGCORE_RGB8 = 0,   /* u8 height x width x 3 */
    SEGCORE_BGR8 = 1,   /* u8 height x width x 3, blue first */
    SEGCORE_GRAY8 = 2,  /* u8 height x width x 1 */
    SEGCORE_F32NCHW = 3 /* f32 channels x height x width, already preprocessed */
} segcore_pixel_format;

typedef struct segcore_session segcore_session; /* opaque */

typedef struct segcore_session_options {
    const char* device; /* "cpu", "cuda", "cuda:N"; NULL = "cpu" */
    int threads;        /* process-wide CPU threads; 0 = leave as is */
    segcore_precision precision;
    int64_t max_batch; /* >= 1 */
    int allow_nonfinite;
} segcore_session_options;

typedef struct segcore_image {
    const void* data;
    int64_t height, width;
    segcore_pixel_format format;
    int64_t row_stride; /* bytes between rows for u8 formats; 0 = packed */
} segcore_image;

/* Caller-owned outputs; each non-NULL pointer is filled. labels/confidence/entropy: height * width
 * elements; probabilities/logits: classes * height * width (class planes one after the other). */
typedef struct segcore_outputs {
    uint8_t* labels_u8;
    uint16_t* labels_u16;
    float* probabilities;
    float* logits;
    float* confidence;
    float* entropy;
} segcore_outputs;

/* Fills *options with the defaults (cpu, threads 0, f32, max_batch 1). */
void segcore_session_options_init(segcore_session_options* options);

/* options may be NULL (defaults). On failure *session is set to NULL. */
segcore_status segcore_session_open(const char* model_path, const segcore_session_options* options,
                                    segcore_session** session);
void segcore_session_close(segcore_session* session); /* NULL is fine */

segcore_status segcore_session_num_classes(const segcore_session* session, int64_t* num_classes);
segcore_status segcore_session_image_channels(const segcore_session* session, int* channels);
/* The name of class `index`; the string lives as long as the session. */
segcore_status segcore_session_class_name(const segcore_session* session, int64_t index, const char** name);

segcore_status segcore_run(const segcore_session* session, const segcore_image* image, const segcore_outputs* outputs);

/* The message of this thread's last failed call ("" when none); valid until its next failing call. */
const char* segcore_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* SEGCORE_C_H */
