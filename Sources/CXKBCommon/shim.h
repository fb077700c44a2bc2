#ifndef STOREHUB_CXKBCOMMON_SHIM_H
#define STOREHUB_CXKBCOMMON_SHIM_H
// libxkbcommon: keymaps compiled from the xkb-data layouts (us, de, fr, ...), no X server involved.
#include <xkbcommon/xkbcommon.h>
#include <xkbcommon/xkbcommon-keysyms.h>

/// evdev key codes are XKB key codes minus 8.
static const unsigned int storehub_xkb_evdev_offset = 8;
#endif
