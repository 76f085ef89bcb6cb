#include "model_resources.h"

// The stamp changes whenever tools/train/embed.py replaces a model file, so that this file
// (and with it the .incbin data) is rebuilt: the build system does not track .incbin inputs.
#include "models/stamp.h"

#define SPK_EMBED(symbol, file)                                                                   \
    __asm__(".section .rodata\n.balign 64\n.local " #symbol "_start\n" #symbol "_start:\n"      \
            ".incbin \"" file "\"\n.local " #symbol "_end\n" #symbol "_end:\n.previous\n");      \
    extern const unsigned char symbol##_start[], symbol##_end[];

SPK_EMBED(spk_compact48_manifest, "compact48.json")
SPK_EMBED(spk_compact48_weights, "compact48.safetensors")

typedef struct {
    const unsigned char *manifest_start, *manifest_end, *weights_start, *weights_end;
} spk_embedded_model;

static const spk_embedded_model models[] = {
    {spk_compact48_manifest_start, spk_compact48_manifest_end, spk_compact48_weights_start,
     spk_compact48_weights_end},
};

int spk_embedded_model_count(void) { return (int)(sizeof(models) / sizeof(models[0])); }

const unsigned char *spk_embedded_model_manifest(int index, size_t *count) {
    if (index < 0 || index >= spk_embedded_model_count()) { *count = 0; return NULL; }
    *count = (size_t)(models[index].manifest_end - models[index].manifest_start);
    return models[index].manifest_start;
}

const unsigned char *spk_embedded_model_weights(int index, size_t *count) {
    if (index < 0 || index >= spk_embedded_model_count()) { *count = 0; return NULL; }
    *count = (size_t)(models[index].weights_end - models[index].weights_start);
    return models[index].weights_start;
}
