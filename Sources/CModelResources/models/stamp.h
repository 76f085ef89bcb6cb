// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "d69343262d607b495fca70a526838d36181dab622150ca5df5157b0e99763a20"
