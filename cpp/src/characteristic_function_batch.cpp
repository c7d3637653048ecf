// Heston's characteristic function on arrays of contour points, split into real and imaginary
// parts, evaluated two points at a time (four with AVX2: this file is compiled a second time for
// x86-64-v3 with IVFAST_CF_BATCH_COPY, and the portable copy dispatches to it at run time) with
// glibc's vector math library (libmvec: exp, sin, cos, log, atan2) where available (x86-64 with
// glibc), else one at a time with libm. Same formulas and
// branch choices as HestonModel::log_cf (characteristic_function.cpp), written once as a template
// over the lane type with selects instead of branches. ln|w| is taken as log |w|^2 / 2 (no log1p
// near |w| = 1: only the absolute error of ln w matters for phi = exp(...), ~1e-16 either way).
#include <cmath>
#include <cstddef>
#include <initializer_list>

#include "characteristic_function.hpp"

#if defined(__GLIBC__) && defined(__x86_64__) && defined(__SSE2__) && defined(IVFAST_HAVE_LIBMVEC)
#include <immintrin.h>
#define IVFAST_LANES2 1
#if defined(__AVX2__) && defined(__FMA__)
#define IVFAST_LANES4 1
extern "C" {
__m256d _ZGVdN4v_exp(__m256d);
__m256d _ZGVdN4v_sin(__m256d);
__m256d _ZGVdN4v_cos(__m256d);
__m256d _ZGVdN4v_log(__m256d);
__m256d _ZGVdN4vv_atan2(__m256d, __m256d);
}
#endif
extern "C" {
__m128d _ZGVbN2v_exp(__m128d);
__m128d _ZGVbN2v_sin(__m128d);
__m128d _ZGVbN2v_cos(__m128d);
__m128d _ZGVbN2v_log(__m128d);
__m128d _ZGVbN2vv_atan2(__m128d, __m128d);
}
#endif

namespace ivfast::fourier {

namespace {

struct Scalar {
  using V = double;
  static V exp(V x) { return std::exp(x); }
  static V sin(V x) { return std::sin(x); }
  static V cos(V x) { return std::cos(x); }
  static V log(V x) { return std::log(x); }
  static V atan2(V y, V x) { return std::atan2(y, x); }
  static V sqrt(V x) { return std::sqrt(x); }
  static V abs(V x) { return std::abs(x); }
  static V select_ge0(V c, V a, V b) { return c >= 0.0 ? a : b; }   // c >= 0 ? a : b
  static V select_gt(V c, V d, V a, V b) { return c > d ? a : b; }  // c > d ? a : b
  static V load(const double* p) { return *p; }
  static void store(double* p, V v) { *p = v; }
  static V splat(double x) { return x; }
};

// libmvec's entry points for one vector width: _ZGV<isa>N<lanes>v_<function>.
#define IVFAST_LIBMVEC_FUNCTIONS(isa, lanes)                                \
  static V exp(V x) { return _ZGV##isa##N##lanes##v_exp(x); }               \
  static V sin(V x) { return _ZGV##isa##N##lanes##v_sin(x); }               \
  static V cos(V x) { return _ZGV##isa##N##lanes##v_cos(x); }               \
  static V log(V x) { return _ZGV##isa##N##lanes##v_log(x); }               \
  static V atan2(V y, V x) { return _ZGV##isa##N##lanes##vv_atan2(y, x); }

#ifdef IVFAST_LANES2
struct Lanes2 {
  using V = __m128d;
  IVFAST_LIBMVEC_FUNCTIONS(b, 2)
  static V sqrt(V x) { return _mm_sqrt_pd(x); }
  static V abs(V x) { return _mm_andnot_pd(_mm_set1_pd(-0.0), x); }
  static V blend(V mask, V a, V b) { return _mm_or_pd(_mm_and_pd(mask, a), _mm_andnot_pd(mask, b)); }
  static V select_ge0(V c, V a, V b) { return blend(_mm_cmpge_pd(c, _mm_setzero_pd()), a, b); }
  static V select_gt(V c, V d, V a, V b) { return blend(_mm_cmpgt_pd(c, d), a, b); }
  static V load(const double* p) { return _mm_loadu_pd(p); }
  static void store(double* p, V v) { _mm_storeu_pd(p, v); }
  static V splat(double x) { return _mm_set1_pd(x); }
};
#endif

#ifdef IVFAST_LANES4
struct Lanes4 {
  using V = __m256d;
  IVFAST_LIBMVEC_FUNCTIONS(d, 4)
  static V sqrt(V x) { return _mm256_sqrt_pd(x); }
  static V abs(V x) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), x); }
  static V select_ge0(V c, V a, V b) { return _mm256_blendv_pd(b, a, _mm256_cmp_pd(c, _mm256_setzero_pd(), _CMP_GE_OQ)); }
  static V select_gt(V c, V d, V a, V b) { return _mm256_blendv_pd(b, a, _mm256_cmp_pd(c, d, _CMP_GT_OQ)); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V splat(double x) { return _mm256_set1_pd(x); }
};
#endif

template <class L>
inline void heston_lanes(const HestonModel& h, double tau, const double* ur, const double* ui, double* out_re,
                         double* out_im) {
  using V = typename L::V;
  const V one = L::splat(1.0), half = L::splat(0.5), zero = L::splat(0.0);
  const V s2 = L::splat(h.sigma * h.sigma), rs = L::splat(h.rho * h.sigma), kappa = L::splat(h.kappa);
  const V t_ = L::splat(tau), c_theta = L::splat(h.kappa * h.theta / (h.sigma * h.sigma));
  const V c_v0 = L::splat(h.v0 / (h.sigma * h.sigma));
  const V xr = L::load(ur), xi = L::load(ui);
  // beta = kappa - rho sigma i u, q = sigma^2 (i u + u^2)
  const V br = kappa + rs * xi, bi = zero - rs * xr;
  const V qr = s2 * (xr * xr - xi * xi - xi), qi = s2 * (xr + L::splat(2.0) * xr * xi);
  // d = principal sqrt(beta^2 + q)
  const V zr = br * br - bi * bi + qr, zi = L::splat(2.0) * br * bi + qi;
  const V r = L::sqrt(zr * zr + zi * zi);
  const V t = L::sqrt(half * (r + L::abs(zr)));
  const V half_y = L::select_gt(t, zero, half * zi / t, zero);
  const V dr = L::select_ge0(zr, t, L::abs(half_y));
  const V di = L::select_ge0(zr, half_y, L::select_ge0(zi, t, zero - t));
  // beta + d, and beta - d = -q / (beta + d) where that avoids cancellation
  const V pr = br + dr, pi = bi + di, mr0 = br - dr, mi0 = bi - di;
  const V np = pr * pr + pi * pi, nm = mr0 * mr0 + mi0 * mi0, inv_np = one / np;
  const V mr = L::select_gt(np, nm, zero - (qr * pr + qi * pi) * inv_np, mr0);
  const V mi = L::select_gt(np, nm, zero - (qi * pr - qr * pi) * inv_np, mi0);
  // g = (beta - d) / (beta + d), e = exp(-d tau)
  const V gr = (mr * pr + mi * pi) * inv_np, gi = (mi * pr - mr * pi) * inv_np;
  const V em = L::exp(zero - dr * t_), phase = zero - di * t_;
  const V er = em * L::cos(phase), ei = em * L::sin(phase);
  // w = (1 - g e) / (1 - g)
  const V ar = one - (gr * er - gi * ei), ai = zero - (gr * ei + gi * er);
  const V cr = one - gr, ci = zero - gi, inv_nc = one / (cr * cr + ci * ci);
  const V wr = (ar * cr + ai * ci) * inv_nc, wi = (ai * cr - ar * ci) * inv_nc;
  const V ln_abs = half * L::log(wr * wr + wi * wi), arg = L::atan2(wi, wr);
  // (beta - d)(1 - e) / (1 - g e)
  const V fr = mr * (one - er) + mi * ei, fi = mi * (one - er) - mr * ei;
  const V inv_na = one / (ar * ar + ai * ai);
  const V vr = (fr * ar + fi * ai) * inv_na, vi = (fi * ar - fr * ai) * inv_na;
  L::store(out_re, c_theta * (mr * t_ - L::splat(2.0) * ln_abs) + c_v0 * vr);
  L::store(out_im, c_theta * (mi * t_ - L::splat(2.0) * arg) + c_v0 * vi);
}

template <class L>
inline void damped_lanes(double a, double shift, const double* ur, const double* lr, const double* li, double* out_re,
                         double* out_im) {
  using V = typename L::V;
  const V u = L::load(ur), av = L::splat(a);
  const V den_r = av * av + av - u * u, den_i = L::splat(2.0 * a + 1.0) * u;
  const V m = L::exp(L::load(lr) + L::splat(shift)), phase = L::load(li);
  const V er = m * L::cos(phase), ei = m * L::sin(phase);
  const V inv = L::splat(1.0) / (den_r * den_r + den_i * den_i);
  L::store(out_re, (er * den_r + ei * den_i) * inv);
  L::store(out_im, (ei * den_r - er * den_i) * inv);
}

// The jump part's log_cf less Heston's (BatesJumpPart::jump_terms, same formulas), added to out:
// -lam tau (1 + i u beta) + ln(lam tau) + ln psi_J + ln((e^z - 1)/z), z = lam tau psi_J(u), the last
// by its Taylor series where |z|^2 < 1e-4 (a select: both branches are computed).
template <class L>
inline void jump_part_lanes(const BatesModel& b, double tau, const double* ur, const double* ui, double* out_re,
                            double* out_im) {
  using V = typename L::V;
  const V one = L::splat(1.0), zero = L::splat(0.0), half = L::splat(0.5);
  const V xr = L::load(ur), xi = L::load(ui);
  const V mu = L::splat(b.mu), ha2 = L::splat(0.5 * b.alpha * b.alpha), lt = L::splat(b.lam * tau);
  // ln psi_J = i u mu - alpha^2 u^2 / 2 (i u = -xi + i xr)
  const V pr = zero - xi * mu - ha2 * (xr * xr - xi * xi), pi = xr * mu - L::splat(2.0) * ha2 * xr * xi;
  const V m = lt * L::exp(pr);
  const V zr = m * L::cos(pi), zi = m * L::sin(pi);
  // (e^z - 1) / z directly ...
  const V ez = L::exp(zr), er = ez * L::cos(zi) - one, ei = ez * L::sin(zi);
  const V inv_nz = one / (zr * zr + zi * zi);
  const V dr = (er * zr + ei * zi) * inv_nz, di = (ei * zr - er * zi) * inv_nz;
  // ... and by 1 + z (1/2 + z (1/6 + z (1/24 + z / 120)))
  V sr = L::splat(1.0 / 24) + zr * L::splat(1.0 / 120), si = zi * L::splat(1.0 / 120);
  for (double c : {1.0 / 6, 0.5, 1.0}) {
    const V tr = zr * sr - zi * si + L::splat(c), ti = zr * si + zi * sr;
    sr = tr, si = ti;
  }
  const V small = L::splat(1e-4);
  const V rr = L::select_gt(small, zr * zr + zi * zi, sr, dr), ri = L::select_gt(small, zr * zr + zi * zi, si, di);
  const V ln_abs = half * L::log(rr * rr + ri * ri), arg = L::atan2(ri, rr);
  const V lt_beta = lt * L::splat(b.beta), log_lt = L::splat(std::log(b.lam * tau));
  L::store(out_re, L::load(out_re) - lt + lt_beta * xi + log_lt + pr + ln_abs);
  L::store(out_im, L::load(out_im) - lt_beta * xr + pi + arg);
}

}  // namespace

#ifdef IVFAST_CF_BATCH_COPY
#define IVFAST_CF_ENTRY(name) name##_x86_64_v3
#else
#define IVFAST_CF_ENTRY(name) name##_portable
#endif

namespace {
// f(lanes, j) over j = 0, 4, 8, ... with the widest lane type available, then the remainder.
template <class F>
void over_lanes(std::size_t n, F&& f) {
  std::size_t j = 0;
#ifdef IVFAST_LANES4
  for (; j + 4 <= n; j += 4) f(Lanes4{}, j);
#endif
#ifdef IVFAST_LANES2
  for (; j + 2 <= n; j += 2) f(Lanes2{}, j);
#endif
  for (; j < n; ++j) f(Scalar{}, j);
}
}  // namespace

void IVFAST_CF_ENTRY(damped_transform_batch)(double a, double shift, const double* ur, const double* lr,
                                             const double* li, std::size_t n, double* out_re, double* out_im) {
  over_lanes(n, [&](auto lanes, std::size_t j) {
    damped_lanes<decltype(lanes)>(a, shift, ur + j, lr + j, li + j, out_re + j, out_im + j);
  });
}

void IVFAST_CF_ENTRY(heston_log_cf_batch)(const HestonModel& h, const double* ur, const double* ui, std::size_t n,
                                          double tau, double* out_re, double* out_im) {
  over_lanes(n, [&](auto lanes, std::size_t j) {
    heston_lanes<decltype(lanes)>(h, tau, ur + j, ui + j, out_re + j, out_im + j);
  });
}

void IVFAST_CF_ENTRY(bates_jump_part_terms_batch)(const BatesModel& b, const double* ur, const double* ui,
                                                  std::size_t n, double tau, double* out_re, double* out_im) {
  over_lanes(n, [&](auto lanes, std::size_t j) {
    jump_part_lanes<decltype(lanes)>(b, tau, ur + j, ui + j, out_re + j, out_im + j);
  });
}

#ifndef IVFAST_CF_BATCH_COPY
#ifdef IVFAST_HAVE_X86_64_V3
void damped_transform_batch_x86_64_v3(double, double, const double*, const double*, const double*, std::size_t,
                                      double*, double*);
void heston_log_cf_batch_x86_64_v3(const HestonModel&, const double*, const double*, std::size_t, double, double*,
                                   double*);
void bates_jump_part_terms_batch_x86_64_v3(const BatesModel&, const double*, const double*, std::size_t, double,
                                           double*, double*);
#endif

namespace {
bool use_x86_64_v3() {
#ifdef IVFAST_HAVE_X86_64_V3
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
#else
  return false;
#endif
}
}  // namespace

// The AVX2 copy of an entry point where the CPU has it, else the portable one.
#ifdef IVFAST_HAVE_X86_64_V3
#define IVFAST_CF_PICK(name) (use_x86_64_v3() ? name##_x86_64_v3 : name##_portable)
#else
#define IVFAST_CF_PICK(name) name##_portable
#endif

void damped_transform_batch(double a, double shift, const double* ur, const double* lr, const double* li,
                            std::size_t n, double* out_re, double* out_im) {
  IVFAST_CF_PICK(damped_transform_batch)(a, shift, ur, lr, li, n, out_re, out_im);
}

void heston_log_cf_batch(const HestonModel& h, const double* ur, const double* ui, std::size_t n, double tau,
                         double* out_re, double* out_im) {
  IVFAST_CF_PICK(heston_log_cf_batch)(h, ur, ui, n, tau, out_re, out_im);
}

void bates_jump_part_terms_batch(const BatesModel& b, const double* ur, const double* ui, std::size_t n, double tau,
                                 double* out_re, double* out_im) {
  IVFAST_CF_PICK(bates_jump_part_terms_batch)(b, ur, ui, n, tau, out_re, out_im);
}
#endif

}  // namespace ivfast::fourier
