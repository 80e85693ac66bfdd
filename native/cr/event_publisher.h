// BLCR's FTB events (../shared/seed, LIBCR-FACTS §8), published by the process that requests a
// checkpoint or restart, from the thread that runs the request:
//   event space FTB.checkpoint_sw.blcr, client name "", jobid "";
//   CHKPT_BEGIN / RSTRT_BEGIN   INFO   event_type 1, no payload
//   CHKPT_END   / RSTRT_END     INFO   event_type 2, payload = BEGIN's handle (360 bytes)
//   CHKPT_ERROR / RSTRT_ERROR   ERROR  event_type 2, payload = BEGIN's handle + int32 errno
//                                                    (host byte order, at offset 360)
// The good parts of libcr's scheme are kept (handle per request, never an FTB socket inside a
// checkpoint image, silent degradation), and its bugs are not: one handle per request (never a
// global one), at most one END or ERROR per BEGIN, and no END/ERROR for a BEGIN that was not
// published. FTB being absent or down never fails a checkpoint: every event that could not be
// published is counted in Stats::dropped.
// The copy restored from a self-checkpoint publishes nothing for that request: the original
// published its END (or ERROR), and BLCR's libcr does the same (a reap that returns
// CR_ERESTARTED publishes nothing, LIBCR-FACTS §8.2).
#pragma once

#include <stdint.h>

#include <string>

#include "ftb/wire.h"

namespace crftb::cr {

enum class Operation { kCheckpoint, kRestart };

// The 368-byte payloads of END and ERROR events.
void BuildEndPayload(const ftb::wire::EventHandle& begin, uint8_t (&payload)[ftb::wire::kPayloadSize]);
void BuildErrorPayload(const ftb::wire::EventHandle& begin, int32_t errnum,
                       uint8_t (&payload)[ftb::wire::kPayloadSize]);

const char* BeginEventName(Operation op);
const char* EndEventName(Operation op);
const char* ErrorEventName(Operation op);

struct PublisherStats {
  uint64_t published = 0;
  uint64_t dropped = 0;     // events that never left: FTB could not take them (absent, down,
                            // refused), or an END/ERROR withheld because its BEGIN did not leave
  uint64_t suppressed = 0;  // events not published because the engine's libcr publishes them
  uint64_t reconnects = 0;  // connections reopened after a checkpoint of this process
};

// Where the events go. One per process; methods are called from worker threads, one request at
// a time per thread, possibly concurrently across threads (implementations lock).
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Publishes BEGIN. Returns false (and counts a drop) when it could not; then the request
  // publishes no END/ERROR either, and counts it with CountWithheld().
  virtual bool Begin(Operation op, ftb::wire::EventHandle* handle) = 0;
  virtual void End(Operation op, const ftb::wire::EventHandle& begin) = 0;
  virtual void Error(Operation op, const ftb::wire::EventHandle& begin, int32_t errnum) = 0;
  // One event left to the engine's libcr, which publishes it itself (Stats::suppressed).
  virtual void CountSuppressed() = 0;
  // The END or ERROR of a request whose BEGIN did not leave: never published (no subscriber may
  // see an END without its BEGIN), so it is dropped too, and counted as such.
  virtual void CountWithheld() = 0;
  // Around a checkpoint that includes this process: close the connection so no FTB socket is
  // dumped, then reopen it (in the original and in the restored copy alike).
  virtual void CloseForCheckpoint() = 0;
  virtual void ReopenAfterCheckpoint() = 0;
  virtual PublisherStats Stats() const = 0;
};

// Settings for the process's publisher (the `ftb` option of checkpoint()/restart()).
struct FtbSettings {
  bool enabled = true;
  std::string agent_host;  // "" = FTB's own resolution (FTB_AGENT_PORT, config file, bootstrap)
  int agent_port = 0;
  int connect_timeout_ms = 1000;
  int retry_after_ms = 5000;  // how long a failed connect is remembered before the next try
};

// The process-wide publisher, (re)configured by `settings` (a change of agent reconnects).
EventPublisher& ProcessPublisher(const FtbSettings& settings);
PublisherStats ProcessPublisherStats();

}  // namespace crftb::cr
