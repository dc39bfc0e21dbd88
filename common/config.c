/* placeholder: config loader being written */
#include "common/config.h"
