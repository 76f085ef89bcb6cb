// Written by tools/train/embed.py; changes with the embedded files.
#define SPK_EMBEDDED_STAMP_COMPACT48 "21a0d79cc88fb79ff1bf66722692521a012751eea65d426ebddf5a83c2af56f5"
