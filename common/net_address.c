/* placeholder: addresses being written */
#include "common/net_address.h"
