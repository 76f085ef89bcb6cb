// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "fe9852cc1e3359ed1ccf5d9ca48df8bacd029eaddd96cd137827b7fdea8fc702"
