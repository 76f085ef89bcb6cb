#ifndef SPKDEBLUR_MODEL_RESOURCES_H
#define SPKDEBLUR_MODEL_RESOURCES_H
#include <stddef.h>

/// The model files built into the binary (assembled in with .incbin, so the executable needs
/// no resource folder beside it). Each entry is a manifest (JSON) and a weights file
/// (safetensors); the manifest names the weights' SHA-256, checked when they are loaded.

/// Number of embedded models.
int spk_embedded_model_count(void);
/// The manifest JSON of model `index` (UTF-8, not NUL-terminated); NULL for a bad index.
const unsigned char *spk_embedded_model_manifest(int index, size_t *count);
/// The safetensors bytes of model `index`; NULL for a bad index.
const unsigned char *spk_embedded_model_weights(int index, size_t *count);

#endif
