// keep_freed_memory: arrays of a sampler's size come from the heap and stay there when freed,
// so the next run reuses them instead of mapping and faulting them in again (glibc's defaults
// map every block above 128 KiB separately and unmap it on free).
#include "core/memory.hpp"

#include <QtTest>
#include <cstdlib>
#include <cstring>
#ifdef __GLIBC__
#include <malloc.h>
#endif

class TestMemory : public QObject {
  Q_OBJECT
private slots:
  void largeArraysStayInTheHeap() {
#ifndef __GLIBC__
    QSKIP("the allocator settings are glibc's");
#else
    itslab::keep_freed_memory();
    constexpr size_t kBytes = 20 << 20; // five [1M, 1] float arrays' worth, under 32 MiB
    const struct mallinfo2 before = mallinfo2();
    auto* p = static_cast<char*>(std::malloc(kBytes));
    QVERIFY(p != nullptr);
    std::memset(p, 1, kBytes);
    const struct mallinfo2 during = mallinfo2();
    QCOMPARE(during.hblkhd, before.hblkhd); // no separate mapping
    std::free(p);
    const struct mallinfo2 after = mallinfo2();
    QCOMPARE(after.arena, during.arena); // the heap kept its size: nothing was trimmed
    QVERIFY(after.fordblks >= kBytes);   // and holds the block for reuse
#endif
  }
};

QTEST_APPLESS_MAIN(TestMemory)
#include "test_memory.moc"
