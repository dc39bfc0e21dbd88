#include "common/spool.h"
