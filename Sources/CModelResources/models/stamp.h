// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "66be0f95046966d7c01c96fe32fde7a1258023b3eb92711f7e9b6a262c609896"
