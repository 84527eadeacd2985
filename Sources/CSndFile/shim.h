#ifndef CALLBOT_CSNDFILE_SHIM_H
#define CALLBOT_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
