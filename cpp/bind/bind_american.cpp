#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "ivfast/american.hpp"
#include "strided.hpp"

namespace py = pybind11;
using ivfast_bind::as_strided;
using ivfast_bind::CArray;
namespace am = ivfast::american;

namespace {

// Curve pillars (empty for flat per-element rates) and a (m, 2) table of (ex-time, cash amount).
am::Market make_market(const CArray<double>& curve_times, const CArray<double>& curve_rates,
                       const CArray<double>& dividends) {
  am::Market market;
  try {
    if (curve_times.size() > 0) {
      market.curve = am::ZeroCurve(std::vector<double>(curve_times.data(), curve_times.data() + curve_times.size()),
                                   std::vector<double>(curve_rates.data(), curve_rates.data() + curve_rates.size()));
    }
    if (dividends.size() % 2 != 0) throw std::invalid_argument("dividends: expected (time, amount) rows");
    for (py::ssize_t i = 0; i < dividends.size() / 2; ++i) {
      market.dividends.push_back({dividends.data()[2 * i], dividends.data()[2 * i + 1]});
    }
    market.validate();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  return market;
}

am::Grid make_grid(int space_nodes, int time_steps, bool extrapolate) {
  if (space_nodes < 8 || time_steps < 4) throw py::value_error("grid: expected space_nodes >= 8 and time_steps >= 4");
  return {space_nodes, time_steps, extrapolate};
}

}  // namespace

void register_american(py::module_& m) {
  m.def(
      "american_price",
      [](const CArray<double>& spot, const CArray<double>& strike, const CArray<double>& tau,
         const CArray<double>& vol, const CArray<double>& rate, const CArray<double>& dividend_yield,
         const CArray<std::uint8_t>& is_call, const CArray<double>& curve_times, const CArray<double>& curve_rates,
         const CArray<double>& dividends, py::ssize_t n, int threads, int space_nodes, int time_steps,
         bool extrapolate) {
        const am::Market market = make_market(curve_times, curve_rates, dividends);
        const am::Grid grid = make_grid(space_nodes, time_steps, extrapolate);
        const am::PriceInputs in{as_strided(spot, n, "spot"),   as_strided(strike, n, "strike"),
                                 as_strided(tau, n, "tau"),     as_strided(vol, n, "vol"),
                                 as_strided(rate, n, "rate"),   as_strided(dividend_yield, n, "dividend_yield"),
                                 as_strided(is_call, n, "is_call")};
        py::array_t<double> out(n);
        double* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          am::price(in, market, grid, static_cast<std::size_t>(n), dst, threads);
        }
        return out;
      },
      py::arg("spot"), py::arg("strike"), py::arg("tau"), py::arg("vol"), py::arg("rate"), py::arg("dividend_yield"),
      py::arg("is_call"), py::arg("curve_times"), py::arg("curve_rates"), py::arg("dividends"), py::arg("n"),
      py::arg("threads"), py::arg("space_nodes"), py::arg("time_steps"), py::arg("extrapolate"),
      "Finite-difference American prices over n broadcast elements (NaN where out of domain).");
  m.def(
      "american_implied_vol",
      [](const CArray<double>& price, const CArray<double>& spot, const CArray<double>& strike,
         const CArray<double>& tau, const CArray<double>& rate, const CArray<double>& dividend_yield,
         const CArray<std::uint8_t>& is_call, const CArray<double>& curve_times, const CArray<double>& curve_rates,
         const CArray<double>& dividends, py::ssize_t n, int threads, int space_nodes, int time_steps,
         bool extrapolate) {
        const am::Market market = make_market(curve_times, curve_rates, dividends);
        const am::Grid grid = make_grid(space_nodes, time_steps, extrapolate);
        const am::InversionInputs in{as_strided(price, n, "price"), as_strided(spot, n, "spot"),
                                     as_strided(strike, n, "strike"), as_strided(tau, n, "tau"),
                                     as_strided(rate, n, "rate"), as_strided(dividend_yield, n, "dividend_yield"),
                                     as_strided(is_call, n, "is_call")};
        py::array_t<double> out(n);
        py::array_t<std::int8_t> status(n);
        double* dst = out.mutable_data();
        std::int8_t* st = status.mutable_data();
        {
          py::gil_scoped_release release;
          am::implied_vol(in, market, grid, static_cast<std::size_t>(n), dst, st, threads);
        }
        return py::make_tuple(out, status);
      },
      py::arg("price"), py::arg("spot"), py::arg("strike"), py::arg("tau"), py::arg("rate"), py::arg("dividend_yield"),
      py::arg("is_call"), py::arg("curve_times"), py::arg("curve_rates"), py::arg("dividends"), py::arg("n"),
      py::arg("threads"), py::arg("space_nodes"), py::arg("time_steps"), py::arg("extrapolate"),
      "American implied volatilities over n broadcast elements; returns (vol, status).");
}
