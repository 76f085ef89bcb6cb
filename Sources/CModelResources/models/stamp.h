// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "84c37b4c451a1d95be5c49e1d9119bced24f5d430ff8b5e70ee00ef87e2d505a"
