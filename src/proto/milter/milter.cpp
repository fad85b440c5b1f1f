// PLACEHOLDER (helper i13-milter replaces this file).
#include "proto/milter/milter.h"
