// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "27bf8a87991c90bcf0b559196fb1710276949d5f65777e77381f6d143cbd7556"
