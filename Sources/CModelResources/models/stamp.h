// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "aaf8998893dd52187a14de4fba9fdfb02300d06d1d61ba80e92b63ab58baac7e"
