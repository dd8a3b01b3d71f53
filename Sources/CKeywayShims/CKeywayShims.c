// The shims are inline functions in include/CKeywayShims.h; SwiftPM needs one source file per C target.
#include "CKeywayShims.h"
