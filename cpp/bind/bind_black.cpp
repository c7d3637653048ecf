#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "ivfast/black_batch.hpp"
#include "ivfast/lets_be_rational.hpp"
#include "strided.hpp"

namespace py = pybind11;
using ivfast_bind::as_strided;
using ivfast_bind::CArray;
namespace bb = ivfast::black_batch;

namespace {

using Black = void (*)(const bb::BlackInputs&, std::size_t, double*, int);

py::array_t<double> run_black(Black kernel, const CArray<double>& forward, const CArray<double>& strike,
                              const CArray<double>& tau, const CArray<double>& vol, const CArray<std::uint8_t>& is_call,
                              const CArray<double>& discount, py::ssize_t n, int threads) {
  const bb::BlackInputs in{as_strided(forward, n, "forward"), as_strided(strike, n, "strike"),
                           as_strided(tau, n, "tau"),         as_strided(vol, n, "vol"),
                           as_strided(discount, n, "discount"), as_strided(is_call, n, "is_call")};
  py::array_t<double> out(n);
  double* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    kernel(in, static_cast<std::size_t>(n), dst, threads);
  }
  return out;
}

py::tuple implied_vol(const CArray<double>& price, const CArray<double>& forward, const CArray<double>& strike,
                      const CArray<double>& tau, const CArray<std::uint8_t>& is_call, const CArray<double>& discount,
                      py::ssize_t n, int threads) {
  const bb::InversionInputs in{as_strided(price, n, "price"), as_strided(forward, n, "forward"),
                               as_strided(strike, n, "strike"), as_strided(tau, n, "tau"),
                               as_strided(discount, n, "discount"), as_strided(is_call, n, "is_call")};
  py::array_t<double> out(n);
  py::array_t<std::int8_t> status(n);
  double* dst = out.mutable_data();
  std::int8_t* st = status.mutable_data();
  {
    py::gil_scoped_release release;
    bb::implied_vol(in, static_cast<std::size_t>(n), dst, st, threads);
  }
  return py::make_tuple(out, status);
}

}  // namespace

void register_black(py::module_& m) {
  using Status = ivfast::lbr::Status;
  py::native_enum<Status>(m, "IVStatus", "enum.IntEnum",
                          "Reason codes returned with ``return_status=True`` (int8) by the implied-vol functions.")
      .value("OK", Status::kOk, "Inverted; the volatility is finite (0 for a price exactly at intrinsic value).")
      .value("BELOW_INTRINSIC", Status::kBelowIntrinsic,
             "Undiscounted price below max(theta*(F-K), 0): no volatility reproduces it.")
      .value("ABOVE_UPPER_BOUND", Status::kAboveUpperBound, "Undiscounted price at or above F (calls) or K (puts).")
      .value("INVALID_INPUT", Status::kInvalidInput,
             "Zero, negative or non-finite price, forward, strike, tau or discount.")
      .value("BELOW_PRICE_ACCURACY", Status::kBelowPriceAccuracy,
             "Only from :func:`ivfast.implied_vol_surface` and :func:`ivfast.american_implied_vol`: the\n"
             "(time value of the) price is below the pricer's absolute accuracy, so it carries no\n"
             "volatility information.")
      .value("EARLY_EXERCISE", Status::kEarlyExercise,
             "Only from :func:`ivfast.american_implied_vol`: the American price is at its early-exercise\n"
             "(intrinsic) value, which it keeps for a whole range of volatilities, so it carries none.")
      .value("NO_CONVERGENCE", Status::kNoConvergence,
             "Only from :func:`ivfast.american_implied_vol`: the safeguarded root-finder missed its tolerance.")
      .finalize();
  for (const auto& [name, kernel, doc] :
       {std::tuple<const char*, Black, const char*>{"black_price", bb::price,
                                                    "Discounted Black-76 prices over n broadcast elements."},
        std::tuple<const char*, Black, const char*>{"black_vega", bb::vega,
                                                    "Discounted Black-76 vegas over n broadcast elements."}}) {
    m.def(
        name,
        [kernel = kernel](const CArray<double>& f, const CArray<double>& k, const CArray<double>& t,
                          const CArray<double>& v, const CArray<std::uint8_t>& c, const CArray<double>& d,
                          py::ssize_t n, int threads) { return run_black(kernel, f, k, t, v, c, d, n, threads); },
        py::arg("forward"), py::arg("strike"), py::arg("tau"), py::arg("vol"), py::arg("is_call"), py::arg("discount"),
        py::arg("n"), py::arg("threads"), doc);
  }
  m.def(
      "_select_kernel_isa",
      [](const std::string& request) {
        const std::string active = bb::select_isa(request);
        if (active.empty()) throw py::value_error("isa: expected 'auto', 'portable' or a supported 'x86_64_v3'");
        return active;
      },
      py::arg("request") = "", "Select ('auto', 'portable', 'x86_64_v3') or report ('') the kernel copy in use.");
  m.def("implied_vol", &implied_vol, py::arg("price"), py::arg("forward"), py::arg("strike"), py::arg("tau"),
        py::arg("is_call"), py::arg("discount"), py::arg("n"), py::arg("threads"),
        "Let's Be Rational implied volatility over n broadcast elements; returns (vol, status).");
}
