#ifndef STOREHUB_CLINUXINPUT_SHIM_H
#define STOREHUB_CLINUXINPUT_SHIM_H
// evdev (/dev/input/eventN), uinput (/dev/uinput, for the test kit) and termios (serial scanners).
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/// The EVIOC* and UI_* requests are function-like macros and ioctl is variadic, which Swift cannot call:
/// fixed-arity wrappers, one per request. Each returns ioctl's result (-1 and errno on failure).

/// Takes (1) or releases (0) the device exclusively: while grabbed, no other reader (a kiosk's screen) sees keys.
static inline int storehub_evdev_grab(int fd, int grab) {
    return ioctl(fd, EVIOCGRAB, (void *)(long)grab);
}

static inline int storehub_evdev_id(int fd, struct input_id *id) {
    return ioctl(fd, EVIOCGID, id);
}

static inline int storehub_evdev_name(int fd, char *name, unsigned int length) {
    return ioctl(fd, EVIOCGNAME(length), name);
}

/// Bit mask of the event types (EV_KEY, ...) the device reports.
static inline int storehub_evdev_event_types(int fd, unsigned char *bits, unsigned int length) {
    return ioctl(fd, EVIOCGBIT(0, length), bits);
}

/// Bit mask of the key codes the device reports.
static inline int storehub_evdev_keys(int fd, unsigned char *bits, unsigned int length) {
    return ioctl(fd, EVIOCGBIT(EV_KEY, length), bits);
}

/// Bit mask of the keys held down now, to resynchronise after the kernel dropped events (SYN_DROPPED).
static inline int storehub_evdev_key_state(int fd, unsigned char *bits, unsigned int length) {
    return ioctl(fd, EVIOCGKEY(length), bits);
}

static inline int storehub_uinput_set_evbit(int fd, int type) {
    return ioctl(fd, UI_SET_EVBIT, type);
}

static inline int storehub_uinput_set_keybit(int fd, int code) {
    return ioctl(fd, UI_SET_KEYBIT, code);
}

static inline int storehub_uinput_setup(int fd, const struct uinput_setup *setup) {
    return ioctl(fd, UI_DEV_SETUP, setup);
}

static inline int storehub_uinput_create(int fd) {
    return ioctl(fd, UI_DEV_CREATE);
}

static inline int storehub_uinput_destroy(int fd) {
    return ioctl(fd, UI_DEV_DESTROY);
}

/// The name of the event node uinput made ("eventN" under /sys/devices/virtual/input/inputM/), into `name`.
static inline int storehub_uinput_sysname(int fd, char *name, unsigned int length) {
    return ioctl(fd, UI_GET_SYSNAME(length), name);
}

/// Hang-up-safe exclusive use of a tty: no other open() succeeds while it is set.
static inline int storehub_tty_exclusive(int fd) {
    return ioctl(fd, TIOCEXCL);
}
#endif
