// One table for BLCR's error codes: their stable names (the `code` JS sees) and what a user can
// do about them. Plain errno values fall through to crftb::ErrnoName / strerror.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr::blcr {

// "CR_ETEMPFAIL" for BLCR's own codes (2354..2365), the errno name ("EPERM") otherwise.
std::string ErrorName(int err);

// The description of `err`: BLCR's meaning for its own codes, strerror() otherwise.
std::string Describe(int err);

// A Failure for a libcr call that failed with `err`: "<what>: <description>[; <advice>]".
Failure FailureFrom(int err, const std::string& what);

}  // namespace crftb::cr::blcr
