#include "core/memory.hpp"

#include <cstdlib> // defines __GLIBC__ where the C library is glibc
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace itslab {

void keep_freed_memory() {
#ifdef __GLIBC__
  // Fixed thresholds also turn off glibc's sliding mmap threshold, which rises only after the
  // first large block has been freed (so a first run and a later one would differ). 32 MiB
  // covers a 1M-particle run's arrays (8 MiB each in 2-D); bigger blocks are still mapped.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

} // namespace itslab
