#include "ftb/codes.h"

namespace crftb::ftb {
namespace {

constexpr const char* kNames[] = {
    "FTB_SUCCESS",
    "FTB_ERR_GENERAL",
    "FTB_ERR_EVENTSPACE_FORMAT",
    "FTB_ERR_SUBSCRIPTION_STYLE",
    "FTB_ERR_INVALID_VALUE",
    "FTB_ERR_DUP_CALL",
    "FTB_ERR_NULL_POINTER",
    "FTB_ERR_NOT_SUPPORTED",
    "FTB_ERR_INVALID_FIELD",
    "FTB_ERR_INVALID_HANDLE",
    "FTB_ERR_DUP_EVENT",
    "FTB_ERR_INVALID_SCHEMA_FILE",
    "FTB_ERR_INVALID_EVENT_NAME",
    "FTB_ERR_INVALID_EVENT_TYPE",
    "FTB_ERR_SUBSCRIPTION_STR",
    "FTB_ERR_FILTER_ATTR",
    "FTB_ERR_FILTER_VALUE",
    "FTB_GOT_NO_EVENT",
    "FTB_FAILURE",
    "FTB_ERR_INVALID_PARAMETER",
    "FTB_ERR_NETWORK_GENERAL",
    "FTB_ERR_NETWORK_NO_ROUTE",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == 1 - kLowestCode);

}  // namespace

const char* CodeName(int code) {
  if (code > 0 || code < kLowestCode) return nullptr;
  return kNames[-code];
}

Failure CodeFailure(int code, const std::string& message) {
  const char* name = CodeName(code);
  if (name == nullptr || code == kSuccess) {
    return Failure::Coded("FTB_ERR_GENERAL", message, kErrGeneral);
  }
  return Failure::Coded(name, message, code);
}

}  // namespace crftb::ftb
