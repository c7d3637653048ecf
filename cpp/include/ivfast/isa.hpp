// Kernels that are compiled more than once, for different instruction sets, live in an inline
// namespace named after the set (ivfast::portable, ivfast::x86_64_v3), so the copies link side
// by side and black_batch.cpp picks one at run time. Code outside them never names the ISA.
#pragma once

#ifndef IVFAST_ISA
#define IVFAST_ISA portable
#endif

// The first definition of an inline namespace must say `inline`; this is it in every TU.
namespace ivfast {
inline namespace IVFAST_ISA {}
}  // namespace ivfast
