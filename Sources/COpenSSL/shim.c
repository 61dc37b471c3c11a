#include "COpenSSL.h"

unsigned long cossl_version_number(void) { return OpenSSL_version_num(); }
