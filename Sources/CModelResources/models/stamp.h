// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "27743a75facb86d858c6948766ac197baaed45ccb7d47c75c5ba68b26c4a8569"
