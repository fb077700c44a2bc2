#ifndef STOREHUB_CTURBOJPEG_SHIM_H
#define STOREHUB_CTURBOJPEG_SHIM_H
#include <stddef.h>
#include <turbojpeg.h>
#endif
