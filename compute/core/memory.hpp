#pragma once

namespace itslab {

// Call once at the start of a program that samples repeatedly (the CLI, the app). glibc hands
// freed blocks above 128 KiB back to the kernel (munmap, heap trims), and the next run faults
// the same arrays back in page by page; this serves blocks up to 32 MiB from the heap and keeps
// up to 64 MiB of freed memory for reuse. Measured with the CPU backend (`bench --only`, where
// nothing large had been freed before): the 64-D mixture 28–31 → 17.5 ms per run (10 000 →
// 1 800 page faults in all), 1M particles 280 → 171–187 ms, the 3×256 MLP 134–197 → 111–113 ms.
void keep_freed_memory();

} // namespace itslab
