#ifndef STOREHUB_CQRENCODE_SHIM_H
#define STOREHUB_CQRENCODE_SHIM_H
// libqrencode: QR codes the hub shows on customer screens (share links). Its API is plain functions and one
// struct, callable from Swift as it is; the shim only gathers the header.
#include <qrencode.h>
#endif
