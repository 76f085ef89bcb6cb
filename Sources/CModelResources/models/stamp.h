// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "475f812f74d738bf7a140023353171e9a897f259ebaeee2d9d708fe3c0d708e2"
