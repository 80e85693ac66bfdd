#include <string.h>

#include "cr/event_publisher.h"

namespace crftb::cr {

namespace wire = ftb::wire;

void BuildEndPayload(const wire::EventHandle& begin, uint8_t (&payload)[wire::kPayloadSize]) {
  memset(payload, 0, sizeof payload);
  memcpy(payload, &begin, sizeof begin);
}

void BuildErrorPayload(const wire::EventHandle& begin, int32_t errnum, uint8_t (&payload)[wire::kPayloadSize]) {
  BuildEndPayload(begin, payload);
  memcpy(payload + sizeof begin, &errnum, sizeof errnum);  // host byte order, like libcr
}

const char* BeginEventName(Operation op) { return op == Operation::kCheckpoint ? "CHKPT_BEGIN" : "RSTRT_BEGIN"; }
const char* EndEventName(Operation op) { return op == Operation::kCheckpoint ? "CHKPT_END" : "RSTRT_END"; }
const char* ErrorEventName(Operation op) { return op == Operation::kCheckpoint ? "CHKPT_ERROR" : "RSTRT_ERROR"; }

}  // namespace crftb::cr
