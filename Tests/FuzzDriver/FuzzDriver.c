// Only the declaration in include/FuzzDriver.h matters; SwiftPM needs one source file per C target.
#include "FuzzDriver.h"
