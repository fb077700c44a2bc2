#ifndef STOREHUB_CZBAR_SHIM_H
#define STOREHUB_CZBAR_SHIM_H
#include <zbar.h>

/// Y800 (8-bit luma) as zbar's fourcc; zbar only decodes this format.
static const unsigned long storehub_zbar_fourcc_y800 = 0x30303859UL;
#endif
