// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "46632f8bd95c3a12a61bbf46f439937c176f1806a5dd10c2d1df03cf8162ba13"
