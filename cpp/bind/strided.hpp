// NumPy array -> black_batch::Strided view (size-1 arrays broadcast with stride 0).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "ivfast/black_batch.hpp"

namespace ivfast_bind {

template <class T>
using CArray = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

template <class T>
ivfast::black_batch::Strided<T> as_strided(const CArray<T>& a, pybind11::ssize_t n, const char* name) {
  if (a.size() == 1) return {a.data(), 0};
  if (a.size() != n) {
    throw pybind11::value_error(std::string(name) + ": expected 1 or " + std::to_string(n) + " elements, got " +
                                std::to_string(a.size()));
  }
  return {a.data(), 1};
}

}  // namespace ivfast_bind
