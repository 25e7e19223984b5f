/*
 * core/idnumber.c — placeholder while the shared model is being written.
 */
#include "core.h"
