// Every global allocation of the test binary is counted: tests of hot paths read
// allocations() before and after their loop. Include from exactly one file of a binary (it
// replaces the global operator new and delete).
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace wzp::test {
inline std::atomic<long> g_allocations{0};
inline long allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace wzp::test

void* operator new(std::size_t n) {
  wzp::test::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
