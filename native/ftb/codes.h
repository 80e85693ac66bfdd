// FTB 0.6.2 return codes (PROTOCOL.md §13): one table of numbers and names for the client, the
// agent and the bootstrap server. Failures carry the name as `code` and the negative value as
// `errnum`, so JS sees e.g. { code: 'FTB_ERR_INVALID_FIELD', codeNumber: -8 } (lib/errors.ts).
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::ftb {

enum Code : int {
  kSuccess = 0,
  kErrGeneral = -1,
  kErrEventspaceFormat = -2,
  kErrSubscriptionStyle = -3,
  kErrInvalidValue = -4,
  kErrDupCall = -5,
  kErrNullPointer = -6,
  kErrNotSupported = -7,
  kErrInvalidField = -8,
  kErrInvalidHandle = -9,
  kErrDupEvent = -10,
  kErrInvalidSchemaFile = -11,
  kErrInvalidEventName = -12,
  kErrInvalidEventType = -13,
  kErrSubscriptionStr = -14,
  kErrFilterAttr = -15,
  kErrFilterValue = -16,
  kGotNoEvent = -17,
  kFailure = -18,
  kErrInvalidParameter = -19,
  kErrNetworkGeneral = -20,
  kErrNetworkNoRoute = -21,
};

constexpr int kLowestCode = kErrNetworkNoRoute;

// "FTB_ERR_INVALID_FIELD" for -8; nullptr for a value outside 0…-21.
const char* CodeName(int code);

// A Failure whose code is the FTB name and whose errnum is the (negative) value.
// `code` must be one of the table's values other than kSuccess.
Failure CodeFailure(int code, const std::string& message);

}  // namespace crftb::ftb
