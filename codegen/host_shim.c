/*
 * Host shim for a generated model (vibsentry.codegen.host.compile_host): batch entry points for ctypes.
 * Placeholders replaced at compile time: @H@ the generated header, @M@ the model symbol, @P@ its macro prefix.
 */
#include <stddef.h>
#include <stdint.h>
#include "@H@"

int vs_host_run_batch(const uint8_t *in, uint8_t *out, int n);
int vs_host_arena_bytes(void);
void vs_host_quantize_input(const float *x, int8_t *q, int n);

static int32_t arena[@P@_ARENA_WORDS + 1u];

int vs_host_run_batch(const uint8_t *in, uint8_t *out, int n)
{
    for (int i = 0; i < n; ++i) {
        int rc = vs_model_run(&@M@, arena, @P@_ARENA_BYTES, in + (size_t)i * @P@_INPUT_BYTES,
                              out + (size_t)i * @P@_OUTPUT_BYTES);
        if (rc != VS_OK) {
            return rc;
        }
    }
    return VS_OK;
}

int vs_host_arena_bytes(void)
{
    return (int)@P@_ARENA_BYTES;
}

void vs_host_quantize_input(const float *x, int8_t *q, int n)
{
    for (int i = 0; i < n; ++i) {
        q[i] = vs_model_quantize_input(&@M@, x[i]);
    }
}
