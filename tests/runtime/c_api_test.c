/* The C API (seg/runtime/segcore_c.h) driven from C: open, run, read labels, and the error paths
 * (bad file, corrupt file, wrong channels, NULL arguments, bad options). Compiled as C11.
 * usage: c_api_test <model.safetensors> <scratch folder>   (ctest passes both) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg/runtime/segcore_c.h"

static int failures = 0;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

/* A status and the last error containing `needle`. */
static void expect_error(segcore_status got, segcore_status want, const char* needle, int line) {
    if (got != want || strstr(segcore_last_error(), needle) == NULL) {
        fprintf(stderr, "line %d: expected status %d and an error containing '%s', got %d: '%s'\n", line, (int)want,
                needle, (int)got, segcore_last_error());
        ++failures;
    }
}

enum { H = 17, W = 23, K = 3 };

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: c_api_test <model.safetensors> <scratch folder>\n");
        return 2;
    }
    const char* model = argv[1];
    segcore_session* s = (segcore_session*)1;

    /* Opening: NULL arguments, a missing file, a corrupt file, a bad device. */
    expect_error(segcore_session_open(NULL, NULL, &s), SEGCORE_ERROR_INVALID_ARGUMENT, "model_path", __LINE__);
    EXPECT(s == NULL);
    expect_error(segcore_session_open(model, NULL, NULL), SEGCORE_ERROR_INVALID_ARGUMENT, "session", __LINE__);
    expect_error(segcore_session_open("/nonexistent/model.safetensors", NULL, &s), SEGCORE_ERROR_MODEL,
                 "/nonexistent/model.safetensors", __LINE__);
    EXPECT(s == NULL);
    char corrupt[4096];
    snprintf(corrupt, sizeof corrupt, "%s/corrupt.safetensors", argv[2]);
    FILE* f = fopen(corrupt, "wb");
    EXPECT(f != NULL);
    if (f) {
        fputs("this is not a safetensors file", f);
        fclose(f);
    }
    expect_error(segcore_session_open(corrupt, NULL, &s), SEGCORE_ERROR_MODEL, "corrupt.safetensors", __LINE__);
    segcore_session_options opt;
    segcore_session_options_init(&opt);
    opt.device = "tpu";
    expect_error(segcore_session_open(model, &opt, &s), SEGCORE_ERROR_INVALID_ARGUMENT, "tpu", __LINE__);
    opt.device = "cpu";
    opt.max_batch = 0;
    expect_error(segcore_session_open(model, &opt, &s), SEGCORE_ERROR_INVALID_ARGUMENT, "max_batch", __LINE__);
    segcore_session_close(NULL); /* allowed */

    /* A good session. */
    segcore_session_options_init(&opt);
    EXPECT(segcore_session_open(model, &opt, &s) == SEGCORE_OK);
    if (!s) {
        fprintf(stderr, "cannot open %s: %s\n", model, segcore_last_error());
        return 1;
    }
    int64_t classes = 0;
    int channels = 0;
    const char* name = NULL;
    EXPECT(segcore_session_num_classes(s, &classes) == SEGCORE_OK && classes == K);
    EXPECT(segcore_session_image_channels(s, &channels) == SEGCORE_OK && channels == 3);
    EXPECT(segcore_session_class_name(s, 1, &name) == SEGCORE_OK && strcmp(name, "class1") == 0);
    expect_error(segcore_session_class_name(s, K, &name), SEGCORE_ERROR_INVALID_ARGUMENT, "index", __LINE__);

    /* Run on an RGB buffer: labels, probabilities, confidence. */
    static uint8_t rgb[H * W * 3], bgr[H * W * 3], labels[H * W], labels_bgr[H * W];
    static float probs[K * H * W], conf[H * W];
    unsigned seed = 12345u;
    for (int i = 0; i < H * W * 3; ++i) {
        seed = seed * 1664525u + 1013904223u;
        rgb[i] = (uint8_t)(seed >> 24);
    }
    for (int p = 0; p < H * W; ++p)
        for (int c = 0; c < 3; ++c) bgr[p * 3 + c] = rgb[p * 3 + 2 - c];
    segcore_image img = {rgb, H, W, SEGCORE_RGB8, 0};
    segcore_outputs out;
    memset(&out, 0, sizeof out);
    out.labels_u8 = labels;
    out.probabilities = probs;
    out.confidence = conf;
    EXPECT(segcore_run(s, &img, &out) == SEGCORE_OK);
    for (int p = 0; p < H * W; ++p) {
        int best = 0;
        float sum = 0.f;
        for (int k = 0; k < K; ++k) {
            sum += probs[k * H * W + p];
            if (probs[k * H * W + p] > probs[best * H * W + p]) best = k;
        }
        EXPECT(labels[p] < K);
        EXPECT(labels[p] == best);
        EXPECT(conf[p] == probs[best * H * W + p]);
        EXPECT(fabsf(sum - 1.f) < 1e-5f);
    }
    /* The same picture in BGR order gives the same labels. */
    segcore_image img_bgr = {bgr, H, W, SEGCORE_BGR8, 0};
    segcore_outputs out_bgr;
    memset(&out_bgr, 0, sizeof out_bgr);
    out_bgr.labels_u8 = labels_bgr;
    EXPECT(segcore_run(s, &img_bgr, &out_bgr) == SEGCORE_OK);
    EXPECT(memcmp(labels, labels_bgr, sizeof labels) == 0);

    /* Run errors: wrong channels, empty image, NULL pixels, NULL arguments, no outputs. */
    segcore_image gray = {rgb, H, W, SEGCORE_GRAY8, 0};
    expect_error(segcore_run(s, &gray, &out_bgr), SEGCORE_ERROR_INVALID_ARGUMENT, "channel", __LINE__);
    segcore_image empty = {rgb, 0, W, SEGCORE_RGB8, 0};
    expect_error(segcore_run(s, &empty, &out_bgr), SEGCORE_ERROR_INVALID_ARGUMENT, "1x1", __LINE__);
    segcore_image no_pixels = {NULL, H, W, SEGCORE_RGB8, 0};
    expect_error(segcore_run(s, &no_pixels, &out_bgr), SEGCORE_ERROR_INVALID_ARGUMENT, "null", __LINE__);
    expect_error(segcore_run(NULL, &img, &out_bgr), SEGCORE_ERROR_INVALID_ARGUMENT, "session", __LINE__);
    expect_error(segcore_run(s, NULL, &out_bgr), SEGCORE_ERROR_INVALID_ARGUMENT, "image", __LINE__);
    expect_error(segcore_run(s, &img, NULL), SEGCORE_ERROR_INVALID_ARGUMENT, "outputs", __LINE__);
    segcore_outputs nothing;
    memset(&nothing, 0, sizeof nothing);
    expect_error(segcore_run(s, &img, &nothing), SEGCORE_ERROR_INVALID_ARGUMENT, "no output", __LINE__);
    /* The session is still usable after errors. */
    EXPECT(segcore_run(s, &img_bgr, &out_bgr) == SEGCORE_OK);
    EXPECT(memcmp(labels, labels_bgr, sizeof labels) == 0);

    segcore_session_close(s);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("c_api_test: all checks passed\n");
    return failures ? 1 : 0;
}
