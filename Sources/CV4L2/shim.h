#ifndef STOREHUB_CV4L2_SHIM_H
#define STOREHUB_CV4L2_SHIM_H
#include <fcntl.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

/// libv4l2's open and ioctl are variadic, which Swift cannot call: fixed-arity wrappers.
static inline int storehub_v4l2_open(const char *path, int flags) {
    return v4l2_open(path, flags);
}

static inline int storehub_v4l2_ioctl(int fd, unsigned long request, void *arg) {
    return v4l2_ioctl(fd, request, arg);
}

static inline int storehub_v4l2_close(int fd) {
    return v4l2_close(fd);
}

/// VIDIOC_* are function-like macros; Swift sees constants only.
static const unsigned long storehub_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long storehub_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long storehub_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long storehub_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long storehub_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long storehub_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long storehub_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long storehub_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long storehub_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long storehub_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;
static const unsigned long storehub_VIDIOC_G_PARM = VIDIOC_G_PARM;
static const unsigned long storehub_VIDIOC_S_PARM = VIDIOC_S_PARM;
static const unsigned long storehub_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long storehub_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
static const unsigned long storehub_VIDIOC_S_CTRL = VIDIOC_S_CTRL;
static const unsigned long storehub_VIDIOC_G_CTRL = VIDIOC_G_CTRL;
static const unsigned long storehub_VIDIOC_QUERYCTRL = VIDIOC_QUERYCTRL;
/// Too wide for Swift's import of the plain macro as a signed constant.
static const unsigned int storehub_V4L2_CTRL_FLAG_NEXT_CTRL = V4L2_CTRL_FLAG_NEXT_CTRL;
#endif
